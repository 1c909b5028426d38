// lstack.conf parsing: libconfig syntax, Gazelle's keys, one precise message
// for the first bad thing found.
#include "gz/config.hpp"

#include <arpa/inet.h>
#include <libconfig.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>

namespace gz::stack {
namespace {

constexpr const char* kDefaultPath = "/etc/gazelle/lstack.conf";

// The text of a setting's value as the user wrote it (for messages).
std::string value_text(const config_setting_t* s) {
  switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: return std::to_string(config_setting_get_int(s));
    case CONFIG_TYPE_INT64: return std::to_string(config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT: return std::to_string(config_setting_get_float(s));
    case CONFIG_TYPE_BOOL: return config_setting_get_bool(s) ? "true" : "false";
    case CONFIG_TYPE_STRING: return std::string("\"") + config_setting_get_string(s) + "\"";
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: return "[...]";
    default: return "{...}";
  }
}

class Parser {
 public:
  Parser(Config& c) : c_(c) {}

  // The message for key's setting s: "FILE:LINE: key = VALUE: what".
  Error bad(const config_setting_t* s, const std::string& what) const {
    return make_error(EINVAL, c_.path + ":" + std::to_string(config_setting_source_line(s)) + ": " +
                                  config_setting_name(s) + " = " + value_text(s) + ": " + what);
  }

  Result<long long> integer(const config_setting_t* s, long long lo, long long hi) const {
    const int t = config_setting_type(s);
    const std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) return bad(s, range);
    const long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) return bad(s, range);
    return v;
  }

  // Gazelle writes switches as 0/1; true/false is accepted too.
  Result<bool> flag(const config_setting_t* s) const {
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) return config_setting_get_bool(s) != 0;
    auto v = integer(s, 0, 1);
    if (!v) return bad(s, "must be 0 or 1");
    return v.value() == 1;
  }

  Result<std::string> text(const config_setting_t* s) const {
    if (config_setting_type(s) != CONFIG_TYPE_STRING) return bad(s, "must be a string in double quotes");
    return std::string(config_setting_get_string(s));
  }

  Result<in_addr> ipv4(const config_setting_t* s) const {
    auto t = text(s);
    if (!t) return t.error();
    in_addr a{};
    if (inet_pton(AF_INET, t.value().c_str(), &a) != 1) return bad(s, "must be a dotted IPv4 address like \"192.168.1.10\"");
    return a;
  }

  // "2", "2,3", "1-3,6": CPUs this machine has, each once.
  Result<std::vector<int>> cpu_list(const config_setting_t* s) const {
    auto t = text(s);
    if (!t) return t.error();
    const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    const std::string allowed = "must list CPUs 0.." + std::to_string(ncpu - 1) + " like \"1\", \"1,2\" or \"1-3\", each once";
    std::vector<int> cpus;
    const std::string& str = t.value();
    for (std::size_t pos = 0; pos <= str.size() && !str.empty();) {
      const std::size_t end = std::min(str.find(',', pos), str.size());
      const std::string item = str.substr(pos, end - pos);
      char* rest = nullptr;
      const long a = std::strtol(item.c_str(), &rest, 10);
      long b = a;
      if (rest == item.c_str()) return bad(s, allowed);
      if (*rest == '-') b = std::strtol(rest + 1, &rest, 10);
      if (*rest != '\0' || a < 0 || b < a || b >= ncpu) return bad(s, allowed);
      for (long c = a; c <= b; ++c) {
        if (std::find(cpus.begin(), cpus.end(), c) != cpus.end()) return bad(s, allowed + " (CPU " + std::to_string(c) + " twice)");
        cpus.push_back(static_cast<int>(c));
      }
      pos = end + 1;
    }
    return cpus;
  }

  Result<std::array<std::uint8_t, 6>> mac(const config_setting_t* s) const {
    auto t = text(s);
    if (!t) return t.error();
    std::array<std::uint8_t, 6> m{};
    unsigned v[6];
    char tail;
    if (std::sscanf(t.value().c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6 ||
        t.value().size() != 17) {
      return bad(s, "must be a MAC address like \"aa:bb:cc:dd:ee:ff\" (the port to use)");
    }
    for (int i = 0; i < 6; ++i) m[i] = static_cast<std::uint8_t>(v[i]);
    return m;
  }

  Result<std::vector<std::string>> strings(const config_setting_t* s) const {
    const int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) return bad(s, "must be a list of strings like [\"--no-pci\", \"-l\", \"0\"]");
    std::vector<std::string> out;
    for (int i = 0; i < config_setting_length(s); ++i) {
      const config_setting_t* e = config_setting_get_elem(s, static_cast<unsigned>(i));
      if (config_setting_type(e) != CONFIG_TYPE_STRING) return bad(s, "must be a list of strings (element " + std::to_string(i) + " is not)");
      out.emplace_back(config_setting_get_string(e));
    }
    if (out.empty()) return bad(s, "must not be empty: DPDK needs at least its device arguments");
    return out;
  }

 private:
  Config& c_;
};

using Apply = std::function<Result<void>(const Parser&, const config_setting_t*, Config&)>;

template <class T, class F>
Result<void> assign(Result<T> r, F&& set) {
  if (!r) return r.error();
  set(std::move(r.value()));
  return {};
}

// Every key lstack.conf may hold, and how its value is read.
const std::vector<std::pair<std::string, Apply>>& keys() {
  static const std::vector<std::pair<std::string, Apply>> k = {
      {"dpdk_args", [](auto& p, auto s, Config& c) { return assign(p.strings(s), [&](auto v) { c.dpdk_args = v; }); }},
      {"num_cpus", [](auto& p, auto s, Config& c) { return assign(p.cpu_list(s), [&](auto v) { c.cpus = v; }); }},
      {"num_wakeup", [](auto& p, auto s, Config& c) { return assign(p.cpu_list(s), [&](auto v) { c.wakeup_cpus = v; }); }},
      {"num_weakup", [](auto& p, auto s, Config& c) { return assign(p.cpu_list(s), [&](auto v) { c.wakeup_cpus = v; }); }},
      {"numa_bind", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.numa_bind = v; }); }},
      {"app_bind_numa", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.app_bind_numa = v; }); }},
      {"low_power_mode", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.low_power_mode = v; }); }},
      {"listen_shadow", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.listen_shadow = v; }); }},
      {"stack_mode_rtc", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.stack_mode_rtc = v; }); }},
      {"host_addr", [](auto& p, auto s, Config& c) { return assign(p.ipv4(s), [&](in_addr v) { c.host_addr = v; }); }},
      {"mask_addr", [](auto& p, auto s, Config& c) { return assign(p.ipv4(s), [&](in_addr v) { c.mask_addr = v; }); }},
      {"gateway_addr", [](auto& p, auto s, Config& c) { return assign(p.ipv4(s), [&](in_addr v) { c.gateway_addr = v; }); }},
      {"devices", [](auto& p, auto s, Config& c) { return assign(p.mac(s), [&](auto v) { c.devices = v; }); }},
      {"tcp_conn_count", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 1, 65535), [&](long long v) { c.tcp_conn_count = static_cast<std::uint32_t>(v); }); }},
      {"mbuf_count_per_conn", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 4, 4096), [&](long long v) { c.mbuf_count_per_conn = static_cast<std::uint32_t>(v); }); }},
      {"nic_read_num", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 1, 128), [&](long long v) { c.nic_read_num = static_cast<std::uint32_t>(v); }); }},
      {"rpc_number", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 1, 1024), [&](long long v) { c.rpc_number = static_cast<std::uint32_t>(v); }); }},
      {"send_connect_number", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 1, 1024), [&](long long v) { c.send_connect_number = static_cast<std::uint32_t>(v); }); }},
      {"read_connect_number", [](auto& p, auto s, Config& c) { return assign(p.integer(s, 1, 1024), [&](long long v) { c.read_connect_number = static_cast<std::uint32_t>(v); }); }},
      {"udp_enable", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.udp_enable = v; }); }},
      {"nic_vlan_mode", [](auto& p, auto s, Config& c) { return assign(p.integer(s, -1, 4094), [&](long long v) { c.nic_vlan_mode = static_cast<int>(v); }); }},
      {"use_ltran", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.use_ltran = v; }); }},
      {"kni_switch", [](auto& p, auto s, Config& c) { return assign(p.flag(s), [&](bool v) { c.kni_switch = v; }); }},
      {"unix_prefix", [](auto& p, auto s, Config& c) { return assign(p.text(s), [&](std::string v) { c.unix_prefix = v; }); }},
  };
  return k;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

Error unknown_key(const Config& c, const config_setting_t* s) {
  const std::string name = config_setting_name(s);
  std::string best, all;
  std::size_t best_d = 4;
  for (const auto& [k, _] : keys()) {
    all += (all.empty() ? "" : ", ") + k;
    if (const std::size_t d = edit_distance(name, k); d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return make_error(EINVAL, c.path + ":" + std::to_string(config_setting_source_line(s)) + ": unknown key '" + name + "'" +
                                (best.empty() ? "" : " (did you mean '" + best + "'?)") + "; allowed keys: " + all);
}

Result<void> read_settings(config_t& cfg, Config& c) {
  const Parser p(c);
  config_setting_t* root = config_root_setting(&cfg);
  for (int i = 0; i < config_setting_length(root); ++i) {
    const config_setting_t* s = config_setting_get_elem(root, static_cast<unsigned>(i));
    const std::string name = config_setting_name(s);
    const auto& table = keys();
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& k) { return k.first == name; });
    if (it == table.end()) return unknown_key(c, s);
    if (auto r = it->second(p, s, c); !r) return r.error();
    c.lines[name == "num_weakup" ? "num_wakeup" : name] = config_setting_source_line(s);
  }
  return {};
}

}  // namespace

Result<void> check_consistency(const Config& c);  // config_check.cpp

int Config::line_of(std::string_view key) const {
  const auto it = lines.find(key);
  return it == lines.end() ? 0 : it->second;
}

std::string Config::where(std::string_view key) const {
  const int line = line_of(key);
  return path + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": ";
}

Result<Config> load_config(const std::string& path) {
  try {
    if (access(path.c_str(), R_OK) != 0) {
      const int err = errno;
      return make_error(err, "cannot read the lstack config " + path + ": " + std::strerror(err) +
                                 " (set LSTACK_CONF_PATH to the lstack.conf to use)");
    }
    Config c;
    c.path = path;
    config_t cfg;
    config_init(&cfg);
    if (config_read_file(&cfg, path.c_str()) != CONFIG_TRUE) {
      Error e = make_error(EINVAL, path + ":" + std::to_string(config_error_line(&cfg)) + ": syntax error: " +
                                       (config_error_text(&cfg) ? config_error_text(&cfg) : "?"));
      config_destroy(&cfg);
      return e;
    }
    auto r = read_settings(cfg, c);
    config_destroy(&cfg);
    if (!r) return r.error();
    if (auto ok = check_consistency(c); !ok) return ok.error();
    return c;
  } catch (const std::exception& e) {
    return make_error(ENOMEM, path + ": " + e.what());
  }
}

Result<Config> load_config_from_env() {
  const char* env = std::getenv("LSTACK_CONF_PATH");
  return load_config(env != nullptr && *env != '\0' ? env : kDefaultPath);
}

}  // namespace gz::stack
