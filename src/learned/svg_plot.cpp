#include "learned/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace switchyard::learned {

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string accuracy_cost_svg(const EvalResult& r, const PlotOptions& options) {
  const double width = 760, height = 500;
  const double left = 70, right = 230, top = 50, bottom = 60;
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  double cmin = 1e300, cmax = 0, amin = 1, amax = 0;
  auto include = [&](double c, double a) {
    if (c > 0) {
      cmin = std::min(cmin, c);
      cmax = std::max(cmax, c);
    }
    amin = std::min(amin, a);
    amax = std::max(amax, a);
  };
  for (const auto& p : r.curve) include(p.cost_usd, p.accuracy);
  for (const auto& p : r.single_models) include(p.cost_usd, p.accuracy);
  include(r.oracle.cost_usd, r.oracle.accuracy);
  for (double b : options.budgets) include(b, amin);
  if (!(cmax > 0)) {
    cmin = 0.01;
    cmax = 1;
  }
  const double lx0 = std::floor(std::log10(cmin)), lx1 = std::ceil(std::log10(cmax));
  const double ly0 = std::max(0.0, std::floor(amin * 10) / 10),
               ly1 = std::min(1.0, std::ceil(amax * 10) / 10);
  const double ly_span = ly1 > ly0 ? ly1 - ly0 : 0.1;
  auto X = [&](double c) {
    const double lc = std::log10(std::max(c, std::pow(10.0, lx0)));
    return left + (lc - lx0) / std::max(1e-9, lx1 - lx0) * plot_w;
  };
  auto Y = [&](double a) { return top + (1 - (a - ly0) / ly_span) * plot_h; };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", width) + "\" height=\"" +
       fmt("%.0f", height) + "\" viewBox=\"0 0 " + fmt("%.0f", width) + " " + fmt("%.0f", height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + fmt("%.0f", left) + "\" y=\"28\" font-size=\"15\" font-weight=\"bold\">" +
       escape(options.title) + "</text>\n";
  // Grid and ticks.
  for (double e = lx0; e <= lx1 + 1e-9; e += 1) {
    for (int mult : {1, 2, 5}) {
      const double c = mult * std::pow(10.0, e);
      if (std::log10(c) > lx1 + 1e-9) continue;
      const double x = X(c);
      s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", top) + "\" x2=\"" +
           fmt("%.1f", x) + "\" y2=\"" + fmt("%.1f", top + plot_h) + "\" stroke=\"" +
           (mult == 1 ? "#ccc" : "#eee") + "\"/>\n";
      char label[32];
      std::snprintf(label, sizeof label, "$%g", c);
      s += "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", top + plot_h + 16) +
           "\" text-anchor=\"middle\" fill=\"#444\">" + label + "</text>\n";
    }
  }
  for (double a = ly0; a <= ly1 + 1e-9; a += 0.05) {
    const double y = Y(a);
    s += "<line x1=\"" + fmt("%.1f", left) + "\" y1=\"" + fmt("%.1f", y) + "\" x2=\"" +
         fmt("%.1f", left + plot_w) + "\" y2=\"" + fmt("%.1f", y) + "\" stroke=\"#eee\"/>\n";
    s += "<text x=\"" + fmt("%.1f", left - 6) + "\" y=\"" + fmt("%.1f", y + 4) +
         "\" text-anchor=\"end\" fill=\"#444\">" + fmt("%.2f", a) + "</text>\n";
  }
  s += "<rect x=\"" + fmt("%.1f", left) + "\" y=\"" + fmt("%.1f", top) + "\" width=\"" +
       fmt("%.1f", plot_w) + "\" height=\"" + fmt("%.1f", plot_h) +
       "\" fill=\"none\" stroke=\"#888\"/>\n";
  s += "<text x=\"" + fmt("%.1f", left + plot_w / 2) + "\" y=\"" + fmt("%.1f", height - 15) +
       "\" text-anchor=\"middle\">total cost (USD, log scale)</text>\n";
  s += "<text transform=\"translate(18," + fmt("%.1f", top + plot_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">accuracy (mean quality)</text>\n";
  for (double b : options.budgets) {
    const double x = X(b);
    s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", top) + "\" x2=\"" +
         fmt("%.1f", x) + "\" y2=\"" + fmt("%.1f", top + plot_h) +
         "\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n";
    s += "<text x=\"" + fmt("%.1f", x + 3) + "\" y=\"" + fmt("%.1f", top + 12) +
         "\" fill=\"#d62728\" font-size=\"10\">" + fmt("$%.2f", b) + "</text>\n";
  }
  // Router curve, in cost order.
  std::vector<const CurvePoint*> points;
  for (const auto& p : r.curve) points.push_back(&p);
  std::sort(points.begin(), points.end(), [](const CurvePoint* a, const CurvePoint* b) {
    return a->cost_usd != b->cost_usd ? a->cost_usd < b->cost_usd : a->accuracy < b->accuracy;
  });
  std::string path;
  for (const CurvePoint* p : points) {
    path += (path.empty() ? "M" : " L") + fmt("%.1f", X(p->cost_usd)) + "," +
            fmt("%.1f", Y(p->accuracy));
  }
  s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n";
  for (const CurvePoint* p : points) {
    s += "<circle cx=\"" + fmt("%.1f", X(p->cost_usd)) + "\" cy=\"" + fmt("%.1f", Y(p->accuracy)) +
         "\" r=\"2.2\" fill=\"#1f77b4\"/>\n";
  }
  // Single models and the oracle.
  for (const auto& m : r.single_models) {
    s += "<circle cx=\"" + fmt("%.1f", X(m.cost_usd)) + "\" cy=\"" + fmt("%.1f", Y(m.accuracy)) +
         "\" r=\"4\" fill=\"#ff7f0e\"><title>" + escape(m.name) + "</title></circle>\n";
  }
  const double ox = X(r.oracle.cost_usd), oy = Y(r.oracle.accuracy);
  s += "<path d=\"M" + fmt("%.1f", ox) + "," + fmt("%.1f", oy - 6) + " L" + fmt("%.1f", ox + 6) +
       "," + fmt("%.1f", oy) + " L" + fmt("%.1f", ox) + "," + fmt("%.1f", oy + 6) + " L" +
       fmt("%.1f", ox - 6) + "," + fmt("%.1f", oy) + " Z\" fill=\"#2ca02c\"/>\n";
  // Legend with the single models listed (labels next to points would overlap).
  double ly = top + 10;
  const double lx = left + plot_w + 15;
  s += "<line x1=\"" + fmt("%.1f", lx) + "\" y1=\"" + fmt("%.1f", ly) + "\" x2=\"" +
       fmt("%.1f", lx + 18) + "\" y2=\"" + fmt("%.1f", ly) +
       "\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"" + fmt("%.1f", lx + 24) + "\" y=\"" +
       fmt("%.1f", ly + 4) + "\">router (cost-weight sweep)</text>\n";
  ly += 18;
  s += "<path d=\"M" + fmt("%.1f", lx + 9) + "," + fmt("%.1f", ly - 6) + " L" +
       fmt("%.1f", lx + 15) + "," + fmt("%.1f", ly) + " L" + fmt("%.1f", lx + 9) + "," +
       fmt("%.1f", ly + 6) + " L" + fmt("%.1f", lx + 3) + "," + fmt("%.1f", ly) +
       " Z\" fill=\"#2ca02c\"/><text x=\"" + fmt("%.1f", lx + 24) + "\" y=\"" +
       fmt("%.1f", ly + 4) + "\">oracle " + fmt("%.3f", r.oracle.accuracy) + " / " +
       fmt("$%.3f", r.oracle.cost_usd) + "</text>\n";
  ly += 18;
  s += "<circle cx=\"" + fmt("%.1f", lx + 9) + "\" cy=\"" + fmt("%.1f", ly) +
       "\" r=\"4\" fill=\"#ff7f0e\"/><text x=\"" + fmt("%.1f", lx + 24) + "\" y=\"" +
       fmt("%.1f", ly + 4) + "\">single models:</text>\n";
  std::vector<ReferencePoint> singles = r.single_models;
  std::sort(singles.begin(), singles.end(),
            [](const auto& a, const auto& b) { return a.accuracy > b.accuracy; });
  for (const auto& m : singles) {
    ly += 15;
    std::string name = m.name;
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    if (name.size() > 22) name = name.substr(0, 21) + "~";
    s += "<text x=\"" + fmt("%.1f", lx + 6) + "\" y=\"" + fmt("%.1f", ly) +
         "\" font-size=\"10\" fill=\"#444\">" + escape(name) + " " + fmt("%.3f", m.accuracy) + " " +
         fmt("$%.3f", m.cost_usd) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace switchyard::learned
