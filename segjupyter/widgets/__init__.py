"""The point-and-click face: rule builder, segment list, dashboards, template gallery.

>>> import segjupyter as sj
>>> sj.ui(ws)                                   # the whole app in one call
>>> sj.widgets.RuleBuilder(ws, 'city = "Madrid"')
"""

from .app import SegmentApp, ui
from .builder import RuleBuilder
from .dashboard import SegmentDashboard
from .gallery import TemplateGallery
from .rfm_dashboard import RFMDashboard
from .segment_list import SegmentList

__all__ = ["RuleBuilder", "SegmentList", "SegmentDashboard", "RFMDashboard",
           "TemplateGallery", "SegmentApp", "ui"]
