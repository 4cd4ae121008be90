// A strict reader of the Prometheus text exposition format (0.0.4), so the tests check /metrics
// on their own, and `promtool check metrics` where Debian's prometheus package is installed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dagminer::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromFamily {
  std::string name, type, help;
  std::vector<PromSample> samples;
};

// Throws std::runtime_error("line N: what") at the first departure from the format: HELP and
// TYPE once per family and before its samples, samples of a family together, names and label
// names well formed, only the three escapes, no series twice, counters named *_total and never
// negative, summary series only as _sum, _count or with a quantile.
std::vector<PromFamily> parse_prometheus_text(std::string_view text);

// The sample of `name` whose labels include `labels`, if any.
std::optional<double> prom_value(const std::vector<PromFamily>& families, const std::string& name,
                                 const std::map<std::string, std::string>& labels = {});

struct ToolRun {
  int status = -1;
  std::string output;
};
// `promtool check metrics` on the text; nullopt when promtool is not installed.
std::optional<ToolRun> promtool_check(const std::string& text);

}  // namespace dagminer::test
