// lstack.conf parsing: libconfig syntax, Gazelle's keys, one precise message
// for the first bad thing found. Text-level helpers (values as written,
// integers, MACs, "did you mean") are gz/conf_text.hpp's, shared with ltran.conf's
// reader; CPU lists are config_text.cpp's; the rules spanning several keys and
// the machine checks are config_check.cpp's.
#include "gz/config.hpp"
#include "gz/conf_text.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <libconfig.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace gz::stack {

Result<void> check_consistency(const Config& c);  // config_check.cpp
std::string cpu_list(std::string_view s, long ncpu, std::vector<int>& out);  // config_text.cpp

// Reads the values of one parsed file strictly; a bad one becomes
// "FILE:LINE: key = VALUE: what is allowed", VALUE as the user wrote it.
class ConfigReader {
 public:
  ConfigReader(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

  Result<void> read_all(config_t& cfg, Config& c) const;  // below the key table
  // "FILE:LINE: " of setting s.
  std::string where(const config_setting_t* s) const {
    const char* file = config_setting_source_file(s);
    return (file != nullptr ? std::string(file) : path_) + ":" + std::to_string(config_setting_source_line(s)) + ": ";
  }
  Error bad(const config_setting_t* s, const std::string& what) const {
    return make_error(EINVAL, where(s) + config_setting_name(s) + " = " + value_text(s) + ": " + what);
  }

  Result<long long> integer(const config_setting_t* s, long long lo, long long hi) const {
    const std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    const int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) return bad(s, range);
    long long v = config_setting_get_int64(s);
    // libconfig 1.5 keeps the low 32 bits of "4294967297" (no L): the text is the truth.
    if (const std::string_view lit = literal(s); !lit.empty() && !conf::integer_literal(lit, v)) return bad(s, range);
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

  // Newer Gazelle's spelling of stack_mode_rtc.
  Result<bool> thread_mode(const config_setting_t* s) const {
    auto t = text(s);
    if (t && (t.value() == "run-to-completion" || t.value() == "run-to-wakeup")) return t.value() == "run-to-completion";
    return bad(s, "must be \"run-to-wakeup\" (stack threads, like stack_mode_rtc = 0) or \"run-to-completion\" (like stack_mode_rtc = 1)");
  }

  Result<std::string> text(const config_setting_t* s) const {
    if (config_setting_type(s) != CONFIG_TYPE_STRING) return bad(s, "must be a string in double quotes");
    return std::string(config_setting_get_string(s));
  }

  Result<in_addr> ipv4(const config_setting_t* s) const {
    auto t = text(s);
    in_addr a{};
    if (!t || inet_pton(AF_INET, t.value().c_str(), &a) != 1) return bad(s, "must be a dotted IPv4 address like \"192.168.1.10\"");
    return a;
  }

  // CPUs of this machine (num_cpus, num_wakeup); "" only where none is allowed.
  Result<std::vector<int>> cpu_list(const config_setting_t* s, bool allow_empty) const {
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpu <= 0) ncpu = CPU_SETSIZE;
    const std::string allowed = "must list CPUs 0.." + std::to_string(ncpu - 1) + " like \"1\", \"1,2\" or \"1-3\", each once" +
                                (allow_empty ? ", or be \"\" for none" : "");
    auto t = text(s);
    if (!t) return bad(s, allowed);
    std::vector<int> cpus;
    if (t.value().empty()) {
      if (allow_empty) return cpus;
      return bad(s, allowed + " (at least one: each is a stack thread)");
    }
    if (const std::string why = gz::stack::cpu_list(t.value(), ncpu, cpus); !why.empty()) return bad(s, allowed + " (" + why + ")");
    return cpus;
  }

  Result<std::array<std::uint8_t, 6>> mac(const config_setting_t* s) const {
    auto t = text(s);
    std::array<std::uint8_t, 6> m{};
    if (!t || !conf::parse_mac(t.value(), m)) return bad(s, "must be a MAC address like \"aa:bb:cc:dd:ee:ff\" (the port to use)");
    if ((m[0] & 1) != 0 || (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0) {
      return bad(s, "must be the unicast MAC of a port, like \"aa:bb:cc:dd:ee:ff\" (first byte even, not all zero)");
    }
    return m;
  }

  Result<std::vector<std::string>> strings(const config_setting_t* s) const {
    const int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) return bad(s, "must be a list of strings like [\"--no-pci\", \"-l\", \"0\"]");
    std::vector<std::string> out;
    for (int i = 0; i < config_setting_length(s); ++i) {
      const config_setting_t* e = config_setting_get_elem(s, static_cast<unsigned>(i));
      if (config_setting_type(e) != CONFIG_TYPE_STRING || *config_setting_get_string(e) == '\0') {
        return bad(s, "must be a list of non-empty strings (element " + std::to_string(i + 1) + " is not)");
      }
      out.emplace_back(config_setting_get_string(e));
    }
    if (out.empty()) return bad(s, "must not be empty: DPDK needs at least its device arguments, like [\"--vdev\", \"net_af_xdp0,iface=eth1\"]");
    return out;
  }

 private:
  // The value of s as written in its file; empty when not found.
  std::string_view literal(const config_setting_t* s) const {
    const char* file = config_setting_source_file(s);
    const std::string* text = &text_;
    if (file != nullptr && file != path_) {  // from an @include: read that file once
      auto it = included_.find(file);
      if (it == included_.end()) {
        auto t = read_included(file);
        it = included_.emplace(file, t ? std::move(t.value()) : std::string()).first;
      }
      text = &it->second;
    }
    return conf::setting_literal(*text, config_setting_source_line(s), config_setting_name(s));
  }

  std::string value_text(const config_setting_t* s) const {
    if (const std::string_view lit = literal(s); !lit.empty()) {
      return lit.size() <= 60 ? std::string(lit) : std::string(lit.substr(0, 57)) + "...";
    }
    switch (config_setting_type(s)) {  // not found in the text: print what libconfig holds
      case CONFIG_TYPE_INT:
      case CONFIG_TYPE_INT64: return std::to_string(config_setting_get_int64(s));
      case CONFIG_TYPE_FLOAT: return std::to_string(config_setting_get_float(s));
      case CONFIG_TYPE_BOOL: return config_setting_get_bool(s) ? "true" : "false";
      case CONFIG_TYPE_STRING: return std::string("\"") + config_setting_get_string(s) + "\"";
      case CONFIG_TYPE_ARRAY: return "[...]";
      case CONFIG_TYPE_LIST: return "(...)";
      default: return "{...}";
    }
  }

  static Result<std::string> read_included(const std::string& file);  // read_text() below

  std::string path_;
  std::string text_;
  mutable std::map<std::string, std::string, std::less<>> included_;
};

namespace {

constexpr const char* kDefaultPath = "/etc/gazelle/lstack.conf";

using Apply = Result<void> (*)(const ConfigReader&, const config_setting_t*, Config&);

struct Key {
  const char* name;       // as written in lstack.conf
  const char* canonical;  // the key it sets: itself, or the one it is another spelling of
  Apply apply;
};

template <class T, class F>
Result<void> assign(Result<T> r, F&& set) {
  if (!r) return r.error();
  set(std::move(r.value()));
  return {};
}

// Every key lstack.conf may hold, and how its value is read. Ranges: counts
// start at 1 (0 would starve a loop or a pool); nic_read_number stops at the
// stack's burst array (Stack::kMaxBurst); the ranges of the rest are what
// Gazelle documents.
const std::vector<Key>& keys() {
  using R = const ConfigReader&;
  using S = const config_setting_t*;
  static const std::vector<Key> k = {
      {"dpdk_args", "dpdk_args", [](R r, S s, Config& c) { return assign(r.strings(s), [&](auto v) { c.dpdk_args = v; }); }},
      {"num_cpus", "num_cpus", [](R r, S s, Config& c) { return assign(r.cpu_list(s, false), [&](auto v) { c.cpus = v; }); }},
      {"num_wakeup", "num_wakeup", [](R r, S s, Config& c) { return assign(r.cpu_list(s, true), [&](auto v) { c.wakeup_cpus = v; }); }},
      {"num_weakup", "num_wakeup", [](R r, S s, Config& c) { return assign(r.cpu_list(s, true), [&](auto v) { c.wakeup_cpus = v; }); }},
      {"numa_bind", "numa_bind", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.numa_bind = v; }); }},
      {"app_bind_numa", "app_bind_numa", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.app_bind_numa = v; }); }},
      {"low_power_mode", "low_power_mode", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.low_power_mode = v; }); }},
      {"listen_shadow", "listen_shadow", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.listen_shadow = v; }); }},
      {"stack_mode_rtc", "stack_mode_rtc", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.stack_mode_rtc = v; }); }},
      {"stack_thread_mode", "stack_mode_rtc", [](R r, S s, Config& c) { return assign(r.thread_mode(s), [&](bool v) { c.stack_mode_rtc = v; }); }},
      {"host_addr", "host_addr", [](R r, S s, Config& c) { return assign(r.ipv4(s), [&](in_addr v) { c.host_addr = v; }); }},
      {"mask_addr", "mask_addr", [](R r, S s, Config& c) { return assign(r.ipv4(s), [&](in_addr v) { c.mask_addr = v; }); }},
      {"gateway_addr", "gateway_addr", [](R r, S s, Config& c) { return assign(r.ipv4(s), [&](in_addr v) { c.gateway_addr = v; }); }},
      {"devices", "devices", [](R r, S s, Config& c) { return assign(r.mac(s), [&](auto v) { c.devices = v; }); }},
      {"tcp_conn_count", "tcp_conn_count", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 65535), [&](long long v) { c.tcp_conn_count = static_cast<std::uint32_t>(v); }); }},
      {"mbuf_count_per_conn", "mbuf_count_per_conn", [](R r, S s, Config& c) { return assign(r.integer(s, 4, 4096), [&](long long v) { c.mbuf_count_per_conn = static_cast<std::uint32_t>(v); }); }},
      {"nic_read_number", "nic_read_number", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 128), [&](long long v) { c.nic_read_num = static_cast<std::uint32_t>(v); }); }},
      // The spelling lstack's issue list and older notes use; the same key.
      {"nic_read_num", "nic_read_number", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 128), [&](long long v) { c.nic_read_num = static_cast<std::uint32_t>(v); }); }},
      {"rpc_number", "rpc_number", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 1024), [&](long long v) { c.rpc_number = static_cast<std::uint32_t>(v); }); }},
      {"send_connect_number", "send_connect_number", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 1024), [&](long long v) { c.send_connect_number = static_cast<std::uint32_t>(v); }); }},
      {"read_connect_number", "read_connect_number", [](R r, S s, Config& c) { return assign(r.integer(s, 1, 1024), [&](long long v) { c.read_connect_number = static_cast<std::uint32_t>(v); }); }},
      {"udp_enable", "udp_enable", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.udp_enable = v; }); }},
      {"nic_vlan_mode", "nic_vlan_mode", [](R r, S s, Config& c) { return assign(r.integer(s, -1, 4094), [&](long long v) { c.nic_vlan_mode = static_cast<int>(v); }); }},
      {"use_ltran", "use_ltran", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.use_ltran = v; }); }},
      {"kni_switch", "kni_switch", [](R r, S s, Config& c) { return assign(r.flag(s), [&](bool v) { c.kni_switch = v; }); }},
      {"unix_prefix", "unix_prefix", [](R r, S s, Config& c) { return assign(r.text(s), [&](std::string v) { c.unix_prefix = v; }); }},
  };
  return k;
}

// Keys of some Gazelle release that lstack does not implement: a copied
// Gazelle lstack.conf gets told so rather than "did you mean".
constexpr const char* kGazelleOnlyKeys[] = {
    "host_addr6", "main_thread_affinity", "app_exclude_cpus", "stack_num", "nic_rxqueue_size",
    "nic_txqueue_size", "send_ring_size", "recv_ring_size", "expand_send_ring", "rpc_msg_max",
    "xdp_eth_name", "num_process", "process_numa", "process_idx", "seperate_send_recv",
    "send_num_cpus", "recv_num_cpus", "tuple_filter", "bond_mode", "bond_miimon", "bond_slave_mac",
    "use_bond4", "slave_mac1", "slave_mac2", "use_sockmap", "send_cache_mode", "flow_bifurcation",
    "stack_interrupt", "mbuf_pool_size",
};

std::string allowed_keys() {
  std::string all;
  for (const Key& k : keys()) {
    if (std::strcmp(k.name, k.canonical) == 0) all += (all.empty() ? "" : ", ") + std::string(k.name);
  }
  return all;
}

Error unknown_key(const ConfigReader& r, const config_setting_t* s) {
  const std::string name = config_setting_name(s);
  const std::string at = r.where(s);
  for (const char* g : kGazelleOnlyKeys) {
    if (name == g) {
      return make_error(EINVAL, at + "key '" + name + "' is a Gazelle setting lstack does not implement; remove it. "
                                     "Allowed keys: " + allowed_keys());
    }
  }
  const std::string best = conf::closest(name, keys(), &Key::name);  // aliases too: a typo of either spelling
  return make_error(EINVAL, at + "unknown key '" + name + "'" + (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                                "; allowed keys: " + allowed_keys());
}

// Owns a config_t for its scope, whatever path leaves it.
struct LibconfigGuard {
  config_t cfg;
  LibconfigGuard() { config_init(&cfg); }
  ~LibconfigGuard() { config_destroy(&cfg); }
  LibconfigGuard(const LibconfigGuard&) = delete;
  LibconfigGuard& operator=(const LibconfigGuard&) = delete;
};


Result<std::string> read_text(const std::string& path) {
  return conf::read_text(path, "lstack", " (set LSTACK_CONF_PATH to the lstack.conf to use)");
}

}  // namespace

Result<std::string> ConfigReader::read_included(const std::string& file) { return read_text(file); }

// Reads every setting of the parsed file into c, recording where each was set.
Result<void> ConfigReader::read_all(config_t& cfg, Config& c) const {
  const config_setting_t* root = config_root_setting(&cfg);
  for (int i = 0; i < config_setting_length(root); ++i) {
    const config_setting_t* s = config_setting_get_elem(root, static_cast<unsigned>(i));
    const std::string name = config_setting_name(s);
    const auto& table = keys();
    const auto it = std::find_if(table.begin(), table.end(), [&](const Key& k) { return name == k.name; });
    if (it == table.end()) return unknown_key(*this, s);
    if (const auto prev = c.origins_.find(it->canonical); prev != c.origins_.end()) {
      return bad(s, std::string(it->canonical) + " is already set at line " + std::to_string(prev->second.line) + " (as " +
                        prev->second.spelled + "); keep one of the two spellings");
    }
    if (auto r = it->apply(*this, s, c); !r) return r.error();
    const char* file = config_setting_source_file(s);
    c.origins_[it->canonical] = Config::Origin{file != nullptr ? file : c.path, static_cast<int>(config_setting_source_line(s)), name};
  }
  return {};
}

int Config::line_of(std::string_view key) const {
  const auto it = origins_.find(key);
  return it == origins_.end() ? 0 : it->second.line;
}

std::string Config::where(std::string_view key) const {
  const auto it = origins_.find(key);
  if (it == origins_.end()) return path + ": " + std::string(key);
  return it->second.file + ":" + std::to_string(it->second.line) + ": " + it->second.spelled;
}

namespace {

Result<Config> load(const std::string& path) {
  auto text = read_text(path);
  if (!text) return text.error();
  // No include dir, as in Gazelle: libconfig 1.5 would prefix it to absolute
  // @include paths too; relative ones are found from the working directory.
  LibconfigGuard g;
  if (config_read_string(&g.cfg, text.value().c_str()) != CONFIG_TRUE) {
    const char* file = config_error_file(&g.cfg);
    const char* what = config_error_text(&g.cfg);
    return make_error(EINVAL, std::string(file != nullptr ? file : path) + ":" + std::to_string(config_error_line(&g.cfg)) +
                                  ": syntax error: " + (what != nullptr ? what : "?") +
                                  " (libconfig syntax: key = value; strings in double quotes)");
  }
  Config c;
  c.path = path;
  const ConfigReader reader(path, std::move(text.value()));
  if (auto r = reader.read_all(g.cfg, c); !r) return r.error();
  if (auto r = check_consistency(c); !r) return r.error();
  return c;
}

}  // namespace

Result<Config> load_config(const std::string& path) {
  try {
    return load(path);
  } catch (const std::bad_alloc&) {
    return make_error(ENOMEM, path + ": out of memory while reading the lstack config");
  } catch (const std::exception& e) {
    return make_error(EINVAL, path + ": cannot read the lstack config: " + e.what());
  } catch (...) {
    return make_error(EINVAL, path + ": cannot read the lstack config");
  }
}

Result<Config> load_config_from_env() {
  try {
    const char* env = std::getenv("LSTACK_CONF_PATH");
    auto c = load_config(env != nullptr && *env != '\0' ? env : kDefaultPath);
    // Read now, with the config: a program may clear its environment before
    // lstack's sockets need the directory (nginx's workers keep only TZ).
    const char* dir = std::getenv("GAZELLE_RUN_DIR");
    if (c) c.value().run_dir = dir != nullptr && *dir != '\0' ? dir : "/var/run/gazelle";
    return c;
  } catch (...) {  // only the std::string of the path can throw here
    return make_error(ENOMEM, "out of memory while reading the lstack config");
  }
}

}  // namespace gz::stack
