"""Campaigns with a control group: ``ws.campaigns`` (docs/campaigns.md).

``create`` splits a segment's members into a **target** arm (sent the campaign) and a
**control** arm (held out) by a hash of the customer id and the campaign key, freezes both
lists in the catalog with the contact fields of that moment, and records the send instant.
Nothing changes a campaign afterwards (like a snapshot). The lift is measured by
``analytics.campaign_lift``.

The split: ``u = md5(key || '/' || customer_id)`` read as a number in [0, 1); the customer is
in control when ``u < holdout``. The key is ``str(seed)`` (or the campaign name when no seed
is given), so the same customer lands in the same arm in every campaign with that key,
whatever the segment's refreshes did to the other members.

>>> c = ws.campaigns.create("lapsed_vip", "winback_may", holdout=0.1, seed=7,
...                         send_date="2026-05-01")
>>> ws.campaigns.export_target_csv("winback_may", "winback_may.csv")
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pandas as pd

from ..errors import CampaignError
from ..rules import model
from .evaluate import key_type
from .exports import write_csv
from .snapshots import id_order
from .store import next_ids

ARMS = ("target", "control")
#: each arm needs at least this many customers (a smaller control group measures nothing)
MIN_ARM = 30
#: the frozen columns of a campaign list (the target CSV is these, subscribed rows only)
LIST_COLUMNS = ["customer_id", "name", "first_name", "last_name", "email"]

DDL = [
    """CREATE TABLE IF NOT EXISTS catalog.campaigns (
        campaign_id BIGINT NOT NULL,
        name VARCHAR NOT NULL,
        segment VARCHAR,                  -- saved segment name, or the rule text
        segment_id INTEGER,               -- saved segment id (NULL for a rule)
        rule_json VARCHAR,
        holdout DOUBLE NOT NULL,
        split_key VARCHAR NOT NULL,       -- hash key of the split (seed or name)
        members_as_of TIMESTAMP,          -- instant the members were evaluated for
        send_at TIMESTAMP NOT NULL,       -- the campaign was sent then; lift counts after it
        created_at TIMESTAMP NOT NULL,
        customers BIGINT, target BIGINT, control BIGINT, target_subscribed BIGINT,
        note VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS catalog.campaign_members (
        campaign_id BIGINT NOT NULL,
        customer_id VARCHAR NOT NULL,
        arm VARCHAR NOT NULL,             -- target | control
        position INTEGER NOT NULL,        -- order of the rows (by customer id)
        subscribed BOOLEAN,
        name VARCHAR, first_name VARCHAR, last_name VARCHAR, email VARCHAR)""",
]

_tags = itertools.count()


def split_sql(holdout_param: str = "?", key_param: str = "?") -> str:
    """SQL expression of the arm of ``customer_id`` (VARCHAR) for a holdout and key."""
    u = (f"CAST(('0x' || substr(md5({key_param} || '/' || customer_id), 1, 13)) AS BIGINT)"
         " / 4503599627370496.0")  # 16^13: the first 13 hex digits as a fraction
    return f"CASE WHEN {u} < {holdout_param} THEN 'control' ELSE 'target' END"


class Campaigns:
    """Campaigns of one workspace. Get them as ``ws.campaigns``."""

    def __init__(self, workspace):
        self.ws = workspace

    # -- creating --------------------------------------------------------------------------
    def create(self, segment, name: str, holdout: float = 0.1, seed=None, *,
               send_date=None, as_of=None, note: str = "", min_arm: int = MIN_ARM) -> dict:
        """Split ``segment`` into target and control, freeze both lists and record the send
        instant; returns the campaign's record (id, sizes, send_at, ...).

        ``segment``: a saved segment's name (its stored members, as of its last refresh), or
        a ``Segment`` / rule text (evaluated as of ``as_of``, default just before
        ``send_date``). ``holdout``: the share held out, in (0, 1). ``seed``: the split key
        (default: the campaign name). ``send_date``: a date (its midnight) or instant;
        default now. Raises :class:`~segjupyter.errors.CampaignError` (nothing written) for a
        bad holdout, a used name, or an arm smaller than ``min_arm`` customers.
        """
        ws = self.ws
        name = _check_name(name)
        if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) \
                or not 0 < holdout < 1:
            raise CampaignError(f"holdout must be a share strictly between 0 and 1 (0.1 holds "
                                f"out 10% as the control group), not {holdout!r}")
        send_at = _instant(ws, send_date, "send_date")
        key = str(seed) if seed is not None else name
        if self._exists(name):
            raise CampaignError(f"a campaign named {name!r} already exists")
        members_sql, label, seg_id, rule, members_as_of = self._members(segment, send_at,
                                                                        as_of)
        tmp = f"_sj_camp_{os.getpid()}_{next(_tags)}"
        try:
            self._stage(tmp, members_sql, holdout, key)
            with ws.storage.read() as con:
                counts = dict(con.execute(f"SELECT arm, count(*) FROM {tmp} GROUP BY 1")
                              .fetchall())
                subs = con.execute(f"SELECT count(*) FROM {tmp} WHERE arm = 'target' AND "
                                   "subscribed").fetchone()[0]
            n_t, n_c = counts.get("target", 0), counts.get("control", 0)
            if min(n_t, n_c) < min_arm:
                raise CampaignError(
                    f"segment {label!r} has {n_t + n_c:,} members: a holdout of {holdout:.0%} "
                    f"gives {n_t:,} target and {n_c:,} control customers, and each arm needs "
                    f"at least {min_arm}; use a larger segment or holdout")
            from .refresh import wall_now
            now = wall_now(ws)
            with ws.storage.write() as con:
                for stmt in DDL:
                    con.execute(stmt)
                if con.execute("SELECT count(*) FROM catalog.campaigns WHERE name = ?",
                               [name]).fetchone()[0]:
                    raise CampaignError(f"a campaign named {name!r} already exists")
                cid = next_ids(con, "campaign")
                con.execute("INSERT INTO catalog.campaigns VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [cid, name, label, seg_id, rule, float(holdout), key,
                             members_as_of, send_at, now, n_t + n_c, n_t, n_c, subs,
                             note or ""])
                con.execute(f"INSERT INTO catalog.campaign_members SELECT ?, customer_id, arm, "
                            f"position, subscribed, {', '.join(LIST_COLUMNS[1:])} FROM {tmp}",
                            [cid])
        finally:
            if not ws.storage.closed:
                with ws.storage.read() as con:
                    con.execute(f"DROP TABLE IF EXISTS temp.main.{tmp}")
        return self.info(name)

    def _members(self, segment, send_at, as_of):
        """(SQL of the members with VARCHAR ``customer_id``, label, segment id, rule JSON,
        members' as_of)."""
        ws = self.ws
        cat = ws.segments
        if isinstance(segment, str) and segment in cat.names():
            r = cat.info(segment)
            if not r.evaluated:
                raise CampaignError(f"segment {segment!r} has never been refreshed; refresh "
                                    "it (or pass its rule) to create a campaign")
            return (f"SELECT customer_id FROM catalog.segment_members "
                    f"WHERE segment_id = {int(r.id)}", r.name, r.id, model.to_json(r.tree),
                    r.last_as_of)
        from ..rules.segment import Segment
        seg = segment if isinstance(segment, Segment) else ws.segment(segment)
        at = _instant(ws, as_of, "as_of") if as_of is not None else \
            send_at - dt.timedelta(microseconds=1)
        ids = seg.member_ids(as_of=at)
        frame = pd.DataFrame({"customer_id": ids.astype(str)})
        label = seg.name or " ".join(seg.text.split())
        return frame, label, None, seg.to_json(), at

    def _stage(self, tmp: str, members, holdout: float, key: str) -> None:
        """Temp table of the members with their arm and frozen contact fields."""
        from .snapshots import export_select
        ws = self.ws
        is_frame = isinstance(members, pd.DataFrame)
        with ws.storage.read(catalog=not is_frame) as con:
            src = members
            if is_frame:
                con.register(tmp + "_ids", members)
                src = f"SELECT customer_id FROM {tmp}_ids"
            try:
                # contact fields the customers table lacks are frozen as NULL
                have = ws.fields.customer
                cols = ["customer_id", "name"] + [c for c in ("first_name", "last_name",
                                                              "email", "subscribed")
                                                  if c in have]
                sel, _ = export_select(ws, src, cols)
                missing = "".join(
                    f", CAST(NULL AS {'BOOLEAN' if c == 'subscribed' else 'VARCHAR'}) AS {c}"
                    for c in ("first_name", "last_name", "email", "subscribed")
                    if c not in have)
                con.execute(f"CREATE TEMP TABLE {tmp} AS SELECT row_number() OVER "
                            f"(ORDER BY {id_order(ws)}) AS position, "
                            f"{split_sql()} AS arm, *{missing} FROM ({sel})", [key, holdout])
            finally:
                if is_frame:
                    con.unregister(tmp + "_ids")

    # -- reading ---------------------------------------------------------------------------
    def _exists(self, name: str) -> bool:
        return name in self._frame()["name"].tolist()

    def _frame(self) -> pd.DataFrame:
        with self.ws.storage.read(catalog=True) as con:
            if not _has_tables(con):
                return pd.DataFrame(columns=["campaign_id", "name"])
            return con.execute("SELECT * FROM catalog.campaigns ORDER BY campaign_id").df()

    def list(self) -> pd.DataFrame:
        """One row per campaign: id, name, segment, holdout, send_at, sizes, created_at."""
        df = self._frame()
        cols = ["campaign_id", "name", "segment", "holdout", "send_at", "customers", "target",
                "control", "target_subscribed", "created_at", "note"]
        return df[cols] if len(df.columns) > 2 else pd.DataFrame(columns=cols)

    def names(self) -> list[str]:
        return self._frame()["name"].tolist()

    def info(self, name: str) -> dict:
        """The stored record of campaign ``name`` as a dict."""
        df = self._frame()
        row = df[df["name"] == name]
        if row.empty:
            raise _unknown(name, df["name"].tolist())
        out = row.iloc[0].to_dict()
        for k in ("send_at", "members_as_of", "created_at"):
            out[k] = pd.Timestamp(out[k]).to_pydatetime()
        for k in ("campaign_id", "segment_id", "customers", "target", "control",
                  "target_subscribed"):
            if pd.notna(out[k]):
                out[k] = int(out[k])
        return out

    def members(self, name: str, arm: str | None = None) -> pd.DataFrame:
        """The frozen lists: ``customer_id, arm, subscribed`` and the contact fields, by
        customer id (one arm with ``arm="target"`` / ``"control"``)."""
        cid = self.info(name)["campaign_id"]
        if arm is not None and arm not in ARMS:
            raise CampaignError(f"arm must be 'target' or 'control', not {arm!r}")
        where = "" if arm is None else " AND arm = ?"
        with self.ws.storage.read(catalog=True) as con:
            return con.execute(
                f"SELECT TRY_CAST(customer_id AS {key_type(self.ws)}) AS customer_id, arm, "
                f"subscribed, {', '.join(LIST_COLUMNS[1:])} FROM catalog.campaign_members "
                f"WHERE campaign_id = ?{where} ORDER BY position",
                [cid] + ([arm] if arm else [])).df()

    def members_sql(self, name: str) -> str:
        """Plain SQL ``SELECT customer_id, arm`` of the frozen lists (ids as VARCHAR)."""
        cid = self.info(name)["campaign_id"]
        return ("SELECT customer_id, arm FROM catalog.campaign_members "
                f"WHERE campaign_id = {int(cid)}")

    def target_list(self, name: str) -> pd.DataFrame:
        """The send list: target-arm customers who were subscribed with an email."""
        df = self.members(name, "target")
        keep = df["subscribed"].fillna(False).astype(bool) & \
            df["email"].fillna("").astype(str).str.strip().ne("")
        return df.loc[keep, LIST_COLUMNS].reset_index(drop=True)

    def export_target_csv(self, name: str, path) -> int:
        """Write the send list (the frozen target arm, subscribed with an email) as CSV in
        the fixed export format; returns the number of rows."""
        cid = self.info(name)["campaign_id"]
        with self.ws.storage.read(catalog=True) as con:
            cur = con.execute(
                f"SELECT {', '.join(LIST_COLUMNS)} FROM catalog.campaign_members WHERE "
                "campaign_id = ? AND arm = 'target' AND subscribed AND "
                "nullif(trim(email), '') IS NOT NULL ORDER BY position", [cid])
            rows = cur.fetchall()
        return write_csv(path, LIST_COLUMNS, rows)

    def _repr_html_(self) -> str:
        df = self.list()
        if df.empty:
            return "<div class='sj-campaigns'>No campaigns yet: ws.campaigns.create(...)</div>"
        return f"<div class='sj-campaigns'>{df.to_html(index=False, escape=True)}</div>"

    def __repr__(self) -> str:
        return f"<campaigns: {', '.join(self.names()) or 'none'}>"


def _has_tables(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "'catalog' AND table_name = 'campaign_members'").fetchone()[0])


def _instant(ws, value, what: str) -> dt.datetime:
    """A date (its midnight), datetime or ISO text; None is now."""
    if value is None:
        return ws.now()
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise CampaignError(f"{what} {value!r} is not a date (YYYY-MM-DD or ISO)") from None
        return ts.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min)
    raise CampaignError(f"{what} must be a date, datetime or ISO text, not {value!r}")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip() \
            or len(name) > 200:
        raise CampaignError(f"a campaign needs a name without leading/trailing spaces "
                            f"(at most 200 characters), not {name!r}")
    return name


def _unknown(name: str, names: list[str]) -> CampaignError:
    from ..workspace.registry import suggest
    s = suggest(name, names)
    return CampaignError(f"no campaign named {name!r}" +
                         (f" — did you mean {s!r}?" if s else
                          f" (campaigns: {', '.join(names) or 'none'})"))
