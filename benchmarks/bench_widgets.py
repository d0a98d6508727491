"""Rule builder speed: *Calculate* on demo M (count and funnel) and building a 30-condition
tree through the widget API.

    .venv/bin/python benchmarks/bench_widgets.py [--workspace /tmp/segjupyter-bench-M]
                                                 [--size M] [--repeat 15]

The demo is built into ``--workspace`` unless it already holds it (shared with the other
benchmarks; this one only reads it). Targets (issue 6): Calculate median under 0.5 s on M;
30 conditions built through the widgets under 2 s. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

CALCULATE_CASES = {
    "attributes": 'city in ("Madrid", "Barcelona") and subscribed',
    "spend window": 'city = "Madrid" and spend(last 12 months) >= 500',
    "bought brand+category": 'bought(brand = "Acme" and category = "Tea", last 6 months) '
                             'and not bought(sku = "TEA-00001")',
    "rfm + lifecycle": 'rfm_segment in ("champions", "loyal") and lifecycle = "active"',
    "five conditions": 'country = "Spain" and subscribed and orders(last 90 days) >= 2 '
                       'and spend(last 12 months) >= 300 and events("email_open", '
                       'last 30 days) >= 1',
}


def median_ms(samples) -> float:
    return statistics.median(samples) * 1000


def bench_calculate(ws, repeat: int) -> dict[str, float]:
    from segjupyter.widgets import RuleBuilder
    out = {}
    for label, text in CALCULATE_CASES.items():
        b = RuleBuilder(ws, text)
        n = b.calculate()  # warm-up (first query plans, registry)
        assert n == ws.segment(text).count(), label
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            b.calculate_button.click()
            times.append(time.perf_counter() - t)
        out[label] = median_ms(times)
        print(f"  calculate {label:<24} {out[label]:7.1f} ms median "
              f"({min(times) * 1000:.1f}–{max(times) * 1000:.1f}), {n:,} customers")
    return out


def build_thirty(ws):
    """30 conditions set through the controls, as a user (or a test) would."""
    from segjupyter.widgets import RuleBuilder
    b = RuleBuilder(ws)
    group = b.add_group()  # a nested "or" group, born with one condition row
    group.op.value = "or"
    for i in range(30):
        if i == 0:
            row = group.items[0]
        else:
            row = (group if i % 5 == 0 else b.root).add_condition()
        kind = i % 5
        if kind == 0:
            row.field.value = "city"
            row.editor.op.value = "in"
            row.editor.slot.editors[0].widget.value = ["Madrid", "Barcelona"]
        elif kind == 1:
            row.entity.value = "behaviour"
            row.field.value = "spend"
            row.editor.window.kind.value = "last"
            row.editor.op.value = ">="
            row.editor.slot.editors[0].widget.value = 100.0 + i
        elif kind == 2:
            row.entity.value = "behaviour"
            row.field.value = "bought"
            f = row.editor.filter.add_condition()
            f.entity.value = "product"
            f.field.value = "category"
            f.editor.slot.editors[0].widget.value = "Tea"
        elif kind == 3:
            row.field.value = "registered_at"
            row.editor.op.value = ">="
            date = row.editor.slot.editors[0]
            date.mode.value = "relative"
            date.amount.value = 30 + i
        else:
            row.entity.value = "derived"
            row.field.value = "rfm_segment"
            row.editor.slot.editors[0].widget.value = "champions"
    tree = b.tree
    return b, tree


def bench_build(ws, repeat: int) -> dict[str, float]:
    from segjupyter.widgets import RuleBuilder
    build, load = [], []
    tree = None
    for _ in range(repeat):
        t = time.perf_counter()
        b, tree = build_thirty(ws)
        build.append(time.perf_counter() - t)
        b.close()
    conditions = sum(1 for _ in _leaves(tree))
    for _ in range(repeat):
        t = time.perf_counter()
        b = RuleBuilder(ws, tree)
        assert b.tree == tree
        load.append(time.perf_counter() - t)
    out = {"build": median_ms(build), "load": median_ms(load)}
    print(f"  build {conditions} conditions through the controls  {out['build']:7.1f} ms median")
    print(f"  load the same tree into a new builder (and read it back) "
          f"{out['load']:7.1f} ms median")
    return out


def _leaves(node):
    from segjupyter.rules.model import Group
    for r in node.rules:
        if isinstance(r, Group):
            yield from _leaves(r)
        else:
            yield r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default="/tmp/segjupyter-bench-M")
    ap.add_argument("--size", default="M")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    import segjupyter
    t = time.perf_counter()
    ws = segjupyter.demo.build(args.workspace, size=args.size)
    print(f"demo {args.size} ready at {args.workspace} in {time.perf_counter() - t:.1f} s "
          f"({ws.tables.get('customers', 0):,} customers, {ws.tables.get('orders', 0):,} "
          "orders)")
    calc = bench_calculate(ws, args.repeat)
    build = bench_build(ws, max(3, args.repeat // 3))
    worst = max(calc.values())
    overall = statistics.median(calc.values())
    ok_calc, ok_build = worst < 500, build["build"] < 2000
    print(f"Calculate: median of cases {overall:.1f} ms, slowest case {worst:.1f} ms "
          f"(target < 500 ms): {'OK' if ok_calc else 'MISSED'}")
    print(f"30 conditions through the widget API: {build['build']:.1f} ms "
          f"(target < 2000 ms): {'OK' if ok_build else 'MISSED'}")
    return 0 if ok_calc and ok_build else 1


if __name__ == "__main__":
    sys.exit(main())
