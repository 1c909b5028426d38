// libconfig files at the level of text, for the two config readers: lstack.conf's
// (stack/runtime/config*.cpp) and ltran.conf's (ltran/config.cpp). Both quote a
// bad value as the user wrote it and read integers again from the text
// (libconfig 1.5 keeps only the low 32 bits of "4294967297", no L), and both
// suggest the key a typo meant. Also the text of DPDK's EAL arguments (lstack's
// dpdk_args, ltran's forward_kit_args) and of MAC addresses. Header-only, std
// and POSIX only, no libconfig, no DPDK: ltran links none of stack's libraries,
// so this is how lstack and ltran share one copy.
// Thread: pure functions of their arguments.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gz/result.hpp"

namespace gz::conf {

inline bool is_name_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-' || ch == '*';
}

// Index just past the comment or string literal that starts at i; i when none does.
inline std::size_t skip_comment_or_string(std::string_view t, std::size_t i) {
  if (t[i] == '#' || t.substr(i, 2) == "//") return std::min(t.find('\n', i), t.size());
  if (t.substr(i, 2) == "/*") {
    const std::size_t e = t.find("*/", i + 2);
    return e == std::string_view::npos ? t.size() : e + 2;
  }
  if (t[i] != '"') return i;
  for (std::size_t j = i + 1; j < t.size(); ++j) {
    if (t[j] == '\\') {
      ++j;
    } else if (t[j] == '"') {
      return j + 1;
    }
  }
  return t.size();
}

// Index of the next character that is neither blank nor inside a comment.
inline std::size_t skip_blank(std::string_view t, std::size_t i) {
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

// The value that starts at i: a string, a bracketed list, array or group, or
// a scalar up to ';', ',' or the end of its line.
inline std::string_view value_at(std::string_view t, std::size_t i) {
  constexpr std::size_t npos = std::string_view::npos;
  if (t[i] == '"') return t.substr(i, skip_comment_or_string(t, i) - i);
  std::size_t e = i;
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

// Index of the first character of line `line` (1-based); t.size() past the end.
inline std::size_t line_start(std::string_view t, int line) {
  std::size_t i = 0;
  for (int l = 1; l < line && i != std::string_view::npos; ++l) {
    i = t.find('\n', i);
    if (i != std::string_view::npos) ++i;
  }
  return i == std::string_view::npos ? t.size() : i;
}

// Where `name = ` (or `name :`) starts at or after i, outside comments and
// strings; npos when it does not, or (one_line) not before the end of i's line.
// value_pos is set to the value's first character.
inline std::size_t find_setting(std::string_view t, std::size_t i, std::string_view name, bool one_line, std::size_t& value_pos) {
  const std::size_t end = one_line ? std::min(t.find('\n', i), t.size()) : t.size();
  while (i < end) {
    if (const std::size_t j = skip_comment_or_string(t, i); j != i) {
      i = j;
      continue;
    }
    if (!is_name_char(t[i]) || (i > 0 && is_name_char(t[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t k = i;
    while (k < t.size() && is_name_char(t[k])) ++k;
    if (t.substr(i, k - i) == name) {
      const std::size_t v = skip_blank(t, k);
      if (v < t.size() && (t[v] == '=' || t[v] == ':')) {
        value_pos = skip_blank(t, v + 1);
        if (value_pos < t.size()) return i;
      }
    }
    i = k;
  }
  return std::string_view::npos;
}

// The value of setting `name` as written, for a setting whose name is on
// `line` of `text` (libconfig's source line); empty when it cannot be found.
inline std::string_view setting_literal(std::string_view text, int line, std::string_view name) {
  std::size_t v = 0;
  if (find_setting(text, line_start(text, line), name, true, v) == std::string_view::npos) return {};
  return value_at(text, v);
}

// An integer literal of libconfig ("-5", "0x1F", "7L"), without libconfig
// 1.5's 32-bit truncation. False when lit is not one or is outside long long.
inline bool integer_literal(std::string_view lit, long long& out) {
  const bool neg = !lit.empty() && lit[0] == '-';
  if (!lit.empty() && (lit[0] == '-' || lit[0] == '+')) lit.remove_prefix(1);
  while (!lit.empty() && (lit.back() == 'L' || lit.back() == 'l')) lit.remove_suffix(1);
  const bool hex = lit.size() > 2 && lit[0] == '0' && (lit[1] == 'x' || lit[1] == 'X');
  if (hex) lit.remove_prefix(2);
  if (lit.empty()) return false;
  unsigned long long v = 0;
  for (const char ch : lit) {
    const int d = std::isdigit(static_cast<unsigned char>(ch)) != 0                   ? ch - '0'
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

// "aa:bb:cc:dd:ee:ff", hex digits of either case, nothing else.
inline bool parse_mac(std::string_view s, std::array<std::uint8_t, 6>& mac) {
  if (s.size() != 17) return false;
  auto nibble = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0 ? ch - '0' : std::tolower(ch) - 'a' + 10; };
  for (std::size_t i = 0; i < 6; ++i) {
    const char hi = s[3 * i], lo = s[3 * i + 1];
    if (std::isxdigit(static_cast<unsigned char>(hi)) == 0 || std::isxdigit(static_cast<unsigned char>(lo)) == 0) return false;
    if (i < 5 && s[3 * i + 2] != ':') return false;
    mac[i] = static_cast<std::uint8_t>(nibble(hi) * 16 + nibble(lo));
  }
  return true;
}

// "aa:bb:cc:dd:ee:ff" (lower case), as parse_mac reads it.
inline std::string mac_text(const std::uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}
inline std::string mac_text(const std::array<std::uint8_t, 6>& m) { return mac_text(m.data()); }

// The whole config file as text; kind ("lstack", "ltran") names it in the
// messages, hint follows the one for a file that cannot be read. Errors: the
// errno of open/read (ENOENT, EACCES, EISDIR for a directory...), EFBIG above
// 1 MiB (far above any config; stops /dev/zero), EINVAL for a NUL byte
// (libconfig would silently stop reading there).
inline Result<std::string> read_text(const std::string& path, const std::string& kind, const std::string& hint) {
  constexpr std::size_t kMaxFileBytes = 1u << 20;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  int err = fd < 0 ? errno : (fstat(fd, &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? EISDIR : 0));
  std::string text;
  char buf[8192];
  while (err == 0) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : 0;
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) err = EFBIG;
  }
  if (fd >= 0) close(fd);
  if (err != 0) return make_error(err, "cannot read the " + kind + " config " + path + ": " + std::strerror(err) + hint);
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    const long line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n');
    return make_error(EINVAL, path + ":" + std::to_string(line) + ": a NUL byte: " + kind + ".conf must be text");
  }
  return text;
}

// Whether EAL's arguments hold option name, alone or as name=value.
inline bool has_eal_arg(const std::vector<std::string>& args, std::string_view name) {
  for (const std::string& a : args) {
    if (a == name || (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=')) return true;
  }
  return false;
}

// A primary that keeps its hugepage files loses them to nobody when it dies by
// a signal (SIGKILL, an unhandled SIGTERM): they stay taken until the next
// start of the same prefix. --huge-unlink unlinks each file once mapped, so
// the pages go back with the process, whatever ends it. Secondaries
// (dpdk-proc-info, dpdk-pdump) cannot attach then: "--huge-unlink=never" in
// the arguments keeps the files for them. EAL refuses --huge-unlink with
// --single-file-segments: such a process unlinks its files after init instead
// (Eal::init), since DPDK keeps each list's file open.
inline bool should_unlink_hugepages(const std::vector<std::string>& args) {
  if (has_eal_arg(args, "--in-memory") || has_eal_arg(args, "--no-huge") || has_eal_arg(args, "--huge-unlink")) return false;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--proc-type" && args[i + 1] != "primary") return false;
  }
  return !has_eal_arg(args, "--proc-type=secondary") && !has_eal_arg(args, "--proc-type=auto");
}

// args without Gazelle's own EAL option --map-perfect (its patched EAL keeps
// address space free for ltran's memory): stock DPDK refuses it, and neither
// ltran nor lstack behind it needs it.
inline std::vector<std::string> stock_eal_args(std::vector<std::string> args) {
  std::erase(args, std::string("--map-perfect"));
  return args;
}

// Levenshtein distance, ignoring case: "Num_CPUs" is a typo of "num_cpus".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The "did you mean" for an unknown key: the candidate nearest to name (the
// first of equals, in the readers' key-table order), or "" when none is within
// 3 edits: farther is a different word, not a typo. name_of projects an element
// of candidates to its name (e.g. &Key::name).
template <class Candidates, class NameOf = std::identity>
std::string closest(std::string_view name, const Candidates& candidates, NameOf name_of = {}) {
  std::string best;
  std::size_t best_d = 4;
  for (const auto& c : candidates) {
    const std::string_view cand = std::invoke(name_of, c);
    if (const std::size_t d = edit_distance(name, cand); d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best;
}

// The largest framesz= of a net_af_packet vdev in EAL's arguments (0: none),
// at most 65535. That PMD copies a whole frame into one mbuf, and its socket's
// fanout hands over IPv4 datagrams the kernel reassembled: an mbuf's data room
// must hold framesz (lstack's pools and ltran's alike).
inline std::size_t af_packet_frame_size(const std::vector<std::string>& eal_args) {
  std::size_t largest = 0;
  for (const std::string& a : eal_args) {
    const std::size_t at = a.find("framesz=");
    if (a.find("net_af_packet") == std::string::npos || at == std::string::npos) continue;
    std::size_t frame = 0;
    for (std::size_t i = at + 8; i < a.size() && std::isdigit(static_cast<unsigned char>(a[i])) != 0 && frame < 65536; ++i) {
      frame = frame * 10 + static_cast<std::size_t>(a[i] - '0');
    }
    largest = std::max(largest, std::min<std::size_t>(frame, 65535));
  }
  return largest;
}

// The memory EAL's arguments ask for, in MiB (0: none asked): "-m N" / "-mN",
// or "--socket-mem A,B,..." / "--socket-mem=A,B,..." summed over the NUMA
// nodes (EAL refuses both together). A value that is not a number counts as
// 0, as EAL's atoi takes it. In EAL's legacy memory mode (--legacy-mem, and
// --no-huge) that is all DPDK has; otherwise it is only reserved up front.
inline std::size_t eal_memory_mib(const std::vector<std::string>& eal_args) {
  const auto sum_of = [](std::string_view list) {
    std::size_t total = 0, part = 0;
    for (const char ch : list) {
      if (ch == ',') {
        total += part;
        part = 0;
      } else if (std::isdigit(static_cast<unsigned char>(ch)) != 0 && part < (std::size_t{1} << 40)) {
        part = part * 10 + static_cast<std::size_t>(ch - '0');
      } else {
        return std::size_t{0};
      }
    }
    return total + part;
  };
  std::size_t mib = 0;
  for (std::size_t i = 0; i < eal_args.size(); ++i) {
    const std::string_view a = eal_args[i];
    const bool next = i + 1 < eal_args.size();
    if ((a == "-m" || a == "--socket-mem") && next) {
      mib = sum_of(eal_args[i + 1]);
    } else if (a.size() > 2 && a.substr(0, 2) == "-m") {
      mib = sum_of(a.substr(2));
    } else if (a.substr(0, 13) == "--socket-mem=") {
      mib = sum_of(a.substr(13));
    }
  }
  return mib;
}

}  // namespace gz::conf
