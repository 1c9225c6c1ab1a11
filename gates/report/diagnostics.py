"""Where two models differ, per task: per-class scores and confusion matrices for a multiclass
task, residuals against predictions for a regression.

The gates say whether the candidate may replace production; these say where it differs. A
compact per-class table (and, for few classes, both confusion matrices in one table) goes to
the comment in a ``<details>`` block; the HTML report draws heatmaps and a residual plot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..classes import Classes
from ..residuals import Residuals
from ..result import Result
from .media import HTML, MARKDOWN, Medium
from .numbers import fixed, magnitude_decimals, padded_range, signed
from .svg import Svg, tick_label, ticks

MD_CLASS_ROWS = 30  # per-class rows in the comment (largest F1 changes first beyond it)
MD_MATRIX_CLASSES = 10  # the comment's confusion table, up to this many classes
HTML_COUNTS_CLASSES = 15  # counts written in the heatmap's cells up to this many classes
HEAT_LEVELS = 8  # shades of a heatmap cell (CSS classes heat0 … heat7)
DIGITS = 3  # decimals of precision, recall and F1 in the per-class table


@dataclass
class ClassRow:
    label: str
    support: str
    precision: str  # "candidate (production)" or the candidate's alone
    recall: str
    f1: str
    f1_change: str  # candidate - production, "—" without production


@dataclass
class ClassTable:
    title: str
    rows: list[ClassRow]
    hidden: int  # classes not in ``rows``
    order: str  # how the rows are ordered, in words
    matrix_labels: list[str]  # columns of the confusion table (empty: no table)
    matrix_rows: list[list[str]]  # first cell the true class, then "candidate (production)" counts
    has_production: bool

    @property
    def matrix_rule(self) -> str:
        """The confusion table's header rule after its first column (counts align right)."""
        return "---:|" * len(self.matrix_labels)


def _pair(c: float | None, p: float | None, has_production: bool) -> str:
    shown = fixed(c, DIGITS)
    return f"{shown} ({fixed(p, DIGITS)})" if has_production else shown


def class_table(classes: Classes, medium: Medium = MARKDOWN, *, limit: int | None = MD_CLASS_ROWS) -> ClassTable:
    cand = classes.scores["candidate"]
    prod = classes.scores.get("production")
    k = len(classes.labels)

    def change(i: int) -> float | None:
        if prod is None or cand.f1[i] is None or prod.f1[i] is None:
            return None
        return cand.f1[i] - prod.f1[i]

    order = list(range(k))
    how = "in class order"
    if limit is not None and k > limit and prod is not None:
        order.sort(key=lambda i: -abs(change(i) or 0.0))
        how = "largest change in F1 first"
    shown = order if limit is None else order[:limit]
    rows = []
    for i in shown:
        p = prod if prod is not None else cand
        delta = change(i)
        rows.append(ClassRow(medium.text(classes.labels[i]), f"{classes.support[i]:,}",
                             _pair(cand.precision[i], p.precision[i], prod is not None),
                             _pair(cand.recall[i], p.recall[i], prod is not None),
                             _pair(cand.f1[i], p.f1[i], prod is not None),
                             signed(fixed(delta, DIGITS)) if delta is not None else "—"))
    labels, matrix = [], []
    if classes.confusion is not None and k <= MD_MATRIX_CLASSES:
        labels = [medium.text(label) for label in classes.labels]
        mc, mp = classes.confusion["candidate"], classes.confusion.get("production")
        for i in range(k):
            matrix.append([labels[i]] + [f"{mc[i][j]} ({mp[i][j]})" if mp is not None else f"{mc[i][j]}"
                                         for j in range(k)])
    title = f"Per class ({k} classes): precision, recall and F1" + (" of the candidate (production)" if prod else "")
    return ClassTable(title, rows, k - len(rows), how, labels, matrix, prod is not None)


# ----------------------------------------------------------------------------- SVG


def confusion_plot(classes: Classes, role: str) -> Svg:
    """A heatmap of one model's confusion matrix, each row shaded by its share of the true class
    (so a rare class reads as clearly as a common one); counts in the cells for few classes."""
    matrix = classes.confusion[role]
    k = len(classes.labels)
    cell = max(14, min(40, 420 // k))
    left, top = 110, 40
    size = cell * k
    svg = Svg(f"confusion-{role}", f"Confusion matrix: {role}",
              "Rows: true class; columns: predicted. Shade: the share of the true class's rows; "
              "the diagonal holds the rows predicted right.", max(320, left + size + 20), top + size + 48)
    labels = [HTML.text(_short(label)) for label in classes.labels]
    titles = [HTML.text(label) for label in classes.labels]
    for i, row in enumerate(matrix):
        total = sum(row)
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            level = min(HEAT_LEVELS - 1, int(round(share * (HEAT_LEVELS - 1))))
            svg.rects.append({"x": left + j * cell, "y": top + i * cell, "w": cell - 1, "h": cell - 1,
                              "cls": f"heat heat{level}"})
            if k <= HTML_COUNTS_CLASSES:
                svg.texts.append({"x": left + j * cell + cell / 2, "y": f"{top + i * cell + cell / 2 + 4:.1f}",
                                  "text": f"{count}", "anchor": "middle",
                                  "cls": "cell dark" if level >= HEAT_LEVELS // 2 else "cell"})
        svg.texts.append({"x": left - 6, "y": f"{top + i * cell + cell / 2 + 4:.1f}", "text": labels[i],
                          "anchor": "end", "cls": "tick", "title": titles[i]})
    if k <= HTML_COUNTS_CLASSES:
        for j in range(k):
            svg.texts.append({"x": left + j * cell + cell / 2, "y": top - 6, "text": HTML.text(_short(classes.labels[j], 6)),
                              "anchor": "middle", "cls": "tick", "title": titles[j]})
    svg.texts.append({"x": left + size / 2, "y": top - 24, "text": "predicted", "anchor": "middle", "cls": "axis"})
    svg.texts.append({"x": left + size / 2, "y": top + size + 20, "text": f"{sum(map(sum, matrix)):,} rows",
                      "anchor": "middle", "cls": "tick"})
    return svg


def residual_plot(residuals: Residuals) -> Svg:
    """Residual (target - prediction) against prediction for both models: a sample of points,
    and per bin of predictions the median residual (solid) and the 10-90% band (dashed)."""
    left, top, width, height = 64, 14, 460, 300
    points = {role: pts for role, pts in residuals.points.items()}
    xs = [x for pts in points.values() for x, _ in pts] + [b.predicted for bins in residuals.bins.values() for b in bins]
    ys = [y for pts in points.values() for _, y in pts] + [v for bins in residuals.bins.values()
                                                          for b in bins for v in (b.low, b.high)] + [0.0]
    x_lo, x_hi = padded_range(xs, 0.04)
    y_lo, y_hi = padded_range(ys, 0.04)
    px = lambda v: left + (v - x_lo) / (x_hi - x_lo) * width  # noqa: E731
    py = lambda v: top + (y_hi - v) / (y_hi - y_lo) * height  # noqa: E731
    sampled = (f"a deterministic sample of {residuals.sampled:,} of {residuals.rows:,} rows"
               if residuals.sampled < residuals.rows else f"all {residuals.rows:,} rows")
    dots = max(map(len, points.values()))
    shown = (f"dots: {dots:,} rows per model" if dots else "no dots: the holdout is sealed, and its rows stay unseen")
    svg = Svg("residuals", "Residuals against predictions",
              f"Residual = target - prediction, from {sampled} ({shown}). "
              "Per tenth of each model's predictions: the median residual (solid) and the 10-90% band (dashed); "
              "a good model's median stays near 0.", left + width + 170, top + height + 48)
    for t in ticks(x_lo, x_hi):
        svg.lines.append({"x1": f"{px(t):.1f}", "y1": top, "x2": f"{px(t):.1f}", "y2": top + height, "cls": "grid"})
        svg.texts.append({"x": f"{px(t):.1f}", "y": top + height + 16, "text": tick_label(t), "anchor": "middle",
                          "cls": "tick"})
    for t in ticks(y_lo, y_hi):
        svg.lines.append({"x1": left, "y1": f"{py(t):.1f}", "x2": left + width, "y2": f"{py(t):.1f}", "cls": "grid"})
        svg.texts.append({"x": left - 6, "y": f"{py(t) + 4:.1f}", "text": tick_label(t), "anchor": "end", "cls": "tick"})
    svg.rects.append({"x": left, "y": top, "w": width, "h": height, "cls": "frame"})
    svg.lines.append({"x1": left, "y1": f"{py(0):.1f}", "x2": left + width, "y2": f"{py(0):.1f}", "cls": "zero"})
    digits = magnitude_decimals(xs + ys, 3)
    for role, pts in points.items():
        for x, y in pts:
            svg.circles.append({"cx": f"{px(x):.1f}", "cy": f"{py(y):.1f}", "r": 2, "cls": f"pt {role}",
                                "title": f"{role}: predicted {fixed(x, digits)}, residual {fixed(y, digits)}"})
    for i, (role, bins) in enumerate(residuals.bins.items()):
        svg.polylines.append({"points": " ".join(f"{px(b.predicted):.1f},{py(b.median):.1f}" for b in bins),
                              "cls": f"curve {role}"})
        for end in ("low", "high"):
            svg.polylines.append({"points": " ".join(f"{px(b.predicted):.1f},{py(getattr(b, end)):.1f}" for b in bins),
                                  "cls": f"band {role}"})
        ly = top + 14 + 20 * i
        svg.lines.append({"x1": left + width + 14, "y1": ly - 4, "x2": left + width + 34, "y2": ly - 4,
                          "cls": f"curve {role}"})
        svg.texts.append({"x": left + width + 40, "y": ly, "text": role, "anchor": "start", "cls": "legend"})
    svg.texts.append({"x": left + width / 2, "y": top + height + 36, "text": "prediction", "anchor": "middle",
                      "cls": "axis"})
    svg.texts.append({"x": 14, "y": top + height / 2, "text": "residual (target - prediction)", "anchor": "middle",
                      "cls": "axis vertical"})
    return svg


def diagnostic_plots(result: Result) -> list[Svg]:
    plots = []
    if result.classes is not None and result.classes.confusion is not None:
        plots += [confusion_plot(result.classes, role) for role in result.classes.confusion]
    if result.residuals is not None:
        plots.append(residual_plot(result.residuals))
    return plots


def _short(label: str, width: int = 14) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
