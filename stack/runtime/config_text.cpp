// lstack.conf at the level of text, what only lstack.conf has: CPU lists. The
// text helpers both config readers use (values as written, integer literals,
// MACs, "did you mean") are gz/conf_text.hpp's.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace gz::stack {

// "2", "2,3", "1-3,6" (blanks around items allowed) into CPU numbers below
// ncpu, each once. Returns "" or what is wrong, for the message.
std::string cpu_list(std::string_view s, long ncpu, std::vector<int>& out) {
  auto number = [&](std::string_view d, long& v) {
    while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
    while (!d.empty() && d.back() == ' ') d.remove_suffix(1);
    if (d.empty() || d.size() > 9) return false;
    v = 0;
    for (char ch : d) {
      if (std::isdigit(static_cast<unsigned char>(ch)) == 0) return false;
      v = v * 10 + (ch - '0');
    }
    return true;
  };
  for (std::size_t pos = 0; pos <= s.size();) {
    const std::size_t end = std::min(s.find(',', pos), s.size());
    const std::string_view item = s.substr(pos, end - pos);
    const std::size_t dash = item.find('-');
    long a = 0, b = 0;
    if (!number(item.substr(0, dash), a) || !number(dash == std::string_view::npos ? item : item.substr(dash + 1), b)) {
      return "'" + std::string(item) + "' is not a CPU number or range";
    }
    if (b < a) return "range '" + std::string(item) + "' is reversed";
    if (b >= ncpu) return "CPU " + std::to_string(b) + " does not exist";
    for (long c = a; c <= b; ++c) {
      for (int seen : out) {
        if (seen == c) return "CPU " + std::to_string(c) + " twice";
      }
      out.push_back(static_cast<int>(c));
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace gz::stack
