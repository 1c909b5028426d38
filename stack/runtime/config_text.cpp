// lstack.conf at the level of text: a setting's value as the user wrote it,
// integer literals, CPU lists and MAC addresses. Pure functions, no libconfig.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gz::stack {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_name_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-' || ch == '*';
}

// Index just past the comment or string literal that starts at i; i when none does.
std::size_t skip_comment_or_string(std::string_view t, std::size_t i) {
  if (t[i] == '#' || t.substr(i, 2) == "//") {
    const std::size_t e = t.find('\n', i);
    return e == npos ? t.size() : e;
  }
  if (t.substr(i, 2) == "/*") {
    const std::size_t e = t.find("*/", i + 2);
    return e == npos ? t.size() : e + 2;
  }
  if (t[i] == '"') {
    for (std::size_t j = i + 1; j < t.size(); ++j) {
      if (t[j] == '\\') {
        ++j;
      } else if (t[j] == '"') {
        return j + 1;
      }
    }
    return t.size();
  }
  return i;
}

// Index of the next character that is neither blank nor inside a comment.
std::size_t skip_blank(std::string_view t, std::size_t i) {
  while (i < t.size()) {
    if (std::isspace(static_cast<unsigned char>(t[i])) != 0) {
      ++i;
    } else if (t[i] != '"' && skip_comment_or_string(t, i) != i) {
      i = skip_comment_or_string(t, i);
    } else {
      break;
    }
  }
  return i;
}

// The value that starts at i: a string, a bracketed list/array/group, or a
// scalar up to ';', ',' or the end of its line.
std::string_view value_at(std::string_view t, std::size_t i) {
  std::size_t e = i;
  if (t[i] == '"') return t.substr(i, skip_comment_or_string(t, i) - i);
  if (std::string_view("[({").find(t[i]) != npos) {
    for (int depth = 0; e < t.size();) {
      if (const std::size_t j = skip_comment_or_string(t, e); j != e) {
        e = j;
        continue;
      }
      if (std::string_view("[({").find(t[e]) != npos) ++depth;
      if (std::string_view("])}").find(t[e]) != npos && --depth == 0) return t.substr(i, e + 1 - i);
      ++e;
    }
    return t.substr(i);
  }
  while (e < t.size() && std::string_view(";,\n#").find(t[e]) == npos && t.substr(e, 2) != "//" && t.substr(e, 2) != "/*") ++e;
  while (e > i && std::isspace(static_cast<unsigned char>(t[e - 1])) != 0) --e;
  return t.substr(i, e - i);
}

std::size_t line_start(std::string_view t, int line) {
  std::size_t i = 0;
  for (int l = 1; l < line && i != npos; ++l) {
    i = t.find('\n', i);
    if (i != npos) ++i;
  }
  return i == npos ? t.size() : i;
}

}  // namespace

// The value of setting `name` as written, for a setting whose name is on
// `line` of `text`; empty when it cannot be found.
std::string_view setting_literal(std::string_view text, int line, std::string_view name) {
  std::size_t i = line_start(text, line);
  const std::size_t eol = std::min(text.find('\n', i), text.size());
  while (i < eol) {
    if (const std::size_t j = skip_comment_or_string(text, i); j != i) {
      i = j;
      continue;
    }
    if (!is_name_char(text[i]) || (i > 0 && is_name_char(text[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t k = i;
    while (k < text.size() && is_name_char(text[k])) ++k;
    if (text.substr(i, k - i) == name) {
      std::size_t v = skip_blank(text, k);
      if (v < text.size() && (text[v] == '=' || text[v] == ':')) {
        v = skip_blank(text, v + 1);
        if (v < text.size()) return value_at(text, v);
      }
    }
    i = k;
  }
  return {};
}

// An integer literal of libconfig ("-5", "0x1F", "7L"), without the 32-bit
// truncation libconfig 1.5 applies to "4294967297". False when lit is not one
// or does not fit in 64 bits.
bool integer_literal(std::string_view lit, long long& out) {
  const bool neg = !lit.empty() && lit[0] == '-';
  if (!lit.empty() && (lit[0] == '-' || lit[0] == '+')) lit.remove_prefix(1);
  while (!lit.empty() && (lit.back() == 'L' || lit.back() == 'l')) lit.remove_suffix(1);
  const bool hex = lit.size() > 2 && lit[0] == '0' && (lit[1] == 'x' || lit[1] == 'X');
  if (hex) lit.remove_prefix(2);
  if (lit.empty()) return false;
  unsigned long long v = 0;
  for (char ch : lit) {
    const int d = std::isdigit(static_cast<unsigned char>(ch)) != 0 ? ch - '0'
                  : (hex && std::isxdigit(static_cast<unsigned char>(ch)) != 0) ? std::tolower(ch) - 'a' + 10
                                                                                 : -1;
    if (d < 0) return false;
    const unsigned base = hex ? 16 : 10;
    if (v > (UINT64_MAX - static_cast<unsigned>(d)) / base) return false;
    v = v * base + static_cast<unsigned>(d);
  }
  if (v > (neg ? 1ull << 63 : (1ull << 63) - 1)) return false;
  out = neg ? static_cast<long long>(0 - v) : static_cast<long long>(v);
  return true;
}

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
    if (!number(item.substr(0, dash), a) || !number(dash == npos ? item : item.substr(dash + 1), b)) {
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

// "aa:bb:cc:dd:ee:ff", hex digits of either case, nothing else.
bool mac_text(std::string_view s, std::uint8_t (&mac)[6]) {
  if (s.size() != 17) return false;
  for (int i = 0; i < 6; ++i) {
    const char hi = s[3 * i], lo = s[3 * i + 1];
    if (std::isxdigit(static_cast<unsigned char>(hi)) == 0 || std::isxdigit(static_cast<unsigned char>(lo)) == 0) return false;
    if (i < 5 && s[3 * i + 2] != ':') return false;
    auto nibble = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0 ? ch - '0' : std::tolower(ch) - 'a' + 10; };
    mac[i] = static_cast<std::uint8_t>(nibble(hi) * 16 + nibble(lo));
  }
  return true;
}

}  // namespace gz::stack
