"""Rows of figure / baseline / ratio / target, printed as a table and kept for bench.json.
A target is reported as PASS or MISS and never fails the run: timing on a shared machine is
evidence, not a gate."""


def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "us":
        return "%.2f us" % value if value < 1000 else "%.2f ms" % (value / 1000.0)
    if unit == "ms":
        return "%.2f ms" % value
    if unit == "s":
        return "%.2f s" % value
    if unit == "/s":
        return "%.0f/s" % value
    if unit == "KiB":
        return "%d KiB" % value
    return "%g %s" % (value, unit)


class Table:
    def __init__(self, title):
        self.title = title
        self.rows = []

    def add(self, figure, value, unit, baseline_name=None, baseline=None, target=None, ratio=None, note=None):
        """TARGET is (op, limit): op '<=' or '>=' applied to the ratio when there is a baseline,
        else to the value itself. RATIO overrides value/baseline (e.g. for flatness)."""
        if ratio is None and baseline:
            ratio = value / baseline if value is not None else None
        verdict = None
        if target is not None:
            op, limit = target
            subject = ratio if (baseline is not None or ratio is not None) else value
            if subject is None:
                verdict = "n/a"
            else:
                verdict = "PASS" if (subject <= limit if op == "<=" else subject >= limit) else "MISS"
        self.rows.append(dict(figure=figure, value=value, unit=unit, baseline_name=baseline_name,
                              baseline=baseline, ratio=ratio,
                              target=None if target is None else "%s %g%s" % (
                                  target[0], target[1], "x" if (baseline is not None or ratio is not None) else ""),
                              verdict=verdict, note=note))

    def render(self):
        head = ("figure", "value", "baseline", "ratio", "target", "", "")
        lines = []
        for r in self.rows:
            base = "-" if r["baseline_name"] is None else "%s %s" % (r["baseline_name"], fmt(r["baseline"], r["unit"]))
            lines.append((r["figure"], fmt(r["value"], r["unit"]), base,
                          "-" if r["ratio"] is None else "%.3fx" % r["ratio"],
                          r["target"] or "-", r["verdict"] or "", r["note"] or ""))
        widths = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
        out = ["== " + self.title]
        for row in [head] + lines:
            out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        return "\n".join(out)

    def as_json(self):
        return {"title": self.title, "rows": self.rows}
