// ltran.conf parsing: libconfig syntax, Gazelle's keys plus ours, one precise
// message for the first bad thing found, in the style of lstack.conf's reader
// (stack/runtime/config*.cpp). ltran links none of stack's code: the text
// helpers that style needs are the header-only gz/conf_text.hpp, shared with it.
#include "config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "gz/conf_text.hpp"

namespace gz::ltran {
namespace {

using Mac = std::array<std::uint8_t, 6>;
constexpr std::size_t npos = std::string_view::npos;
// (uid_t)-1 means "unchanged" to chown and setreuid: never a real id.
constexpr long long kMaxId = 4294967294LL;

// ---- the file as text ------------------------------------------------------
// libconfig 1.5 keeps only the low 32 bits of "100000000000" (no L suffix), so
// integers are read again from the text, and messages quote values as written.

// The items of a written list or array "[1, \"a\"]", blanks and comments dropped.
// Empty when lit does not split cleanly.
std::vector<std::string_view> list_items(std::string_view lit) {
  if (lit.size() < 2 || (lit.front() != '[' && lit.front() != '(')) return {};
  const std::string_view body = lit.substr(0, lit.size() - 1);  // without the closing bracket
  std::vector<std::string_view> items;
  for (std::size_t i = conf::skip_blank(body, 1); i < body.size();) {
    const std::string_view v = conf::value_at(body, i);
    if (v.empty()) return {};
    items.push_back(v);
    i = conf::skip_blank(body, i + v.size());
    if (i < body.size() && body[i] != ',') return {};
    i = conf::skip_blank(body, i + 1);
  }
  return items;
}

// libconfig 1.5 refuses arrays of mixed types, so `allow_uids = [0, "www-data"]`
// would be a syntax error: the brackets of allow_uids and allow_gids become a
// list's parentheses in the copy handed to libconfig. Same length: lines and
// positions stay those of the user's text.
void mixed_arrays_to_lists(std::string& text) {
  for (const std::string_view key : {"allow_uids", "allow_gids"}) {
    std::size_t v = 0;
    for (std::size_t at = conf::find_setting(text, 0, key, false, v); at != npos; at = conf::find_setting(text, v, key, false, v)) {
      if (text[v] != '[') continue;
      const std::string_view lit = conf::value_at(text, v);
      if (lit.size() < 2 || lit.back() != ']') continue;
      text[v] = '(';
      text[v + lit.size() - 1] = ')';
    }
  }
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return std::string(s);
}

// s cut at `sep`, each part trimmed ("a, b" -> "a", "b"; "" -> one empty part).
std::vector<std::string> split_at(std::string_view s, char sep) {
  std::vector<std::string> parts;
  for (std::size_t pos = 0;;) {
    const std::size_t end = std::min(s.find(sep, pos), s.size());
    parts.push_back(trimmed(s.substr(pos, end - pos)));
    if (end == s.size()) return parts;
    pos = end + 1;
  }
}

// "0x1".."0xff" (Gazelle requires the 0x) into a port mask; 0 when it is not one.
std::uint32_t parse_port_mask(std::string_view s) {
  long long v = 0;
  if (s.size() < 3 || s.size() > 6 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.back() == 'L' || s.back() == 'l' ||
      !conf::integer_literal(s, v) || v < 1 || v > 0xff) {
    return 0;
  }
  return static_cast<std::uint32_t>(v);
}

std::string ip_text(std::uint32_t host_order) {
  const in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string hex_text(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}


Result<std::string> read_text(const std::string& path) {
  return conf::read_text(path, "ltran", "");
}

// The id of user (or group) `name`: 0 and found = true; 0 and found = false
// when there is none; else the errno of the lookup.
int lookup_id(const std::string& name, bool group, std::uint32_t& id, bool& found) {
  std::vector<char> buf(1024);
  for (;;) {
    passwd pw{};
    passwd* pw_hit = nullptr;
    struct group gr {};
    struct group* gr_hit = nullptr;
    const int err = group ? getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &gr_hit)
                          : getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &pw_hit);
    if (err == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    found = err == 0 && (group ? gr_hit != nullptr : pw_hit != nullptr);
    id = !found ? 0 : group ? gr.gr_gid : pw.pw_uid;
    // getpwnam(3): these mean "no such name" on some systems.
    return (err == ENOENT || err == ESRCH || err == EBADF || err == EPERM) ? 0 : err;
  }
}

}  // namespace

// Reads the values of one parsed file strictly; a bad one becomes
// "FILE:LINE: key = VALUE: what is allowed", VALUE as the user wrote it.
class ConfigReader {
 public:
  ConfigReader(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

  Result<void> read_all(config_t& cfg, LtranConfig& c) const;  // below the key table

  std::string file_of(const config_setting_t* s) const {
    const char* file = config_setting_source_file(s);
    return file != nullptr ? std::string(file) : path_;
  }
  // "FILE:LINE: " of setting s.
  std::string where(const config_setting_t* s) const {
    return file_of(s) + ":" + std::to_string(config_setting_source_line(s)) + ": ";
  }
  Error bad(const config_setting_t* s, const std::string& what, int code = EINVAL) const {
    return make_error(code, where(s) + config_setting_name(s) + " = " + value_text(s) + ": " + what);
  }

  Result<long long> integer(const config_setting_t* s, long long lo, long long hi) const {
    const std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    long long v = 0;
    if (!integer_value(s, literal(s), v) || v < lo || v > hi) return bad(s, range);
    return v;
  }

  // Gazelle writes switches as 0/1; true/false is accepted too.
  Result<bool> flag(const config_setting_t* s) const {
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) return config_setting_get_bool(s) != 0;
    long long v = 0;
    if (!integer_value(s, literal(s), v) || (v != 0 && v != 1)) return bad(s, "must be 0 or 1");
    return v == 1;
  }

  Result<std::uint32_t> bond_mode(const config_setting_t* s) const {
    long long v = 0;
    if (!integer_value(s, literal(s), v) || (v != 1 && v != 4 && v != 6)) {
      return bad(s, "must be 1 (active-backup), 4 (802.3ad, LACP) or 6 (alb)");
    }
    return static_cast<std::uint32_t>(v);
  }

  Result<std::string> text(const config_setting_t* s, const char* example) const {
    if (config_setting_type(s) != CONFIG_TYPE_STRING) return bad(s, std::string("must be a string in double quotes, like ") + example);
    return std::string(config_setting_get_string(s));
  }

  Result<std::string> forward_kit(const config_setting_t* s) const {
    if (config_setting_type(s) != CONFIG_TYPE_STRING || std::strcmp(config_setting_get_string(s), "dpdk") != 0) {
      return bad(s, "must be \"dpdk\", the only forwarding kit");
    }
    return std::string("dpdk");
  }

  Result<in_addr> ipv4(const config_setting_t* s) const {
    auto t = text(s, "\"192.168.1.0\"");
    in_addr a{};
    if (!t || inet_pton(AF_INET, t.value().c_str(), &a) != 1) return bad(s, "must be a dotted IPv4 address like \"192.168.1.0\"");
    return a;
  }

  Result<std::vector<std::string>> eal_args(const config_setting_t* s) const;
  Result<std::vector<std::uint32_t>> port_masks(const config_setting_t* s) const;
  Result<std::vector<Mac>> macs(const config_setting_t* s) const;
  Result<std::string> prefix(const config_setting_t* s) const;
  Result<std::vector<std::uint32_t>> ids(const config_setting_t* s, bool group) const;

 private:
  // v from s, an integer setting, with lit (its text, may be empty) as the truth.
  static bool integer_value(const config_setting_t* s, std::string_view lit, long long& v) {
    const int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) return false;
    v = config_setting_get_int64(s);
    return lit.empty() || conf::integer_literal(lit, v);
  }
  Result<std::uint32_t> id(const config_setting_t* s, unsigned index, std::string_view lit, bool group) const;
  std::string_view literal(const config_setting_t* s) const;
  std::string value_text(const config_setting_t* s) const;

  std::string path_;
  std::string text_;
  mutable std::map<std::string, std::string, std::less<>> included_;  // @include'd file -> its text
};

Result<std::vector<std::string>> ConfigReader::eal_args(const config_setting_t* s) const {
  auto t = text(s, "\"-l 0,1 --socket-mem 1024 --proc-type primary\" (one string, arguments separated by blanks)");
  if (!t) return t.error();
  std::vector<std::string> args;
  const std::string& all = t.value();
  for (std::size_t i = 0; i < all.size();) {
    const std::size_t end = std::min(all.find_first_of(" \t", i), all.size());
    if (end > i) args.push_back(all.substr(i, end - i));
    i = end + 1;
  }
  if (args.empty()) return bad(s, "must not be empty: DPDK needs its EAL arguments, like \"-l 0,1 --socket-mem 1024 --proc-type primary\"");
  return args;
}

Result<std::vector<std::uint32_t>> ConfigReader::port_masks(const config_setting_t* s) const {
  const std::string allowed = "must be a port mask per bond, comma-separated, like \"0x1\" or \"0x1,0x2\": at most " +
                              std::to_string(kMaxBonds) + " bonds, each mask 0x1 to 0xff (0x1 is the first DPDK port)";
  auto t = text(s, "\"0x1\"");
  if (!t) return bad(s, allowed);
  std::vector<std::uint32_t> masks;
  for (const std::string& part : split_at(t.value(), ',')) {
    const std::uint32_t m = parse_port_mask(part);
    if (m == 0) return bad(s, allowed + " ('" + part + "' is not)");
    for (const std::uint32_t other : masks) {
      if ((m & other) != 0) {
        return bad(s, allowed + " (" + hex_text(other) + " and " + hex_text(m) + " share port(s) " + hex_text(m & other) +
                          "; a port belongs to one bond)");
      }
    }
    masks.push_back(m);
  }
  if (masks.size() > kMaxBonds) return bad(s, allowed + " (" + std::to_string(masks.size()) + " are given)");
  return masks;
}

Result<std::vector<Mac>> ConfigReader::macs(const config_setting_t* s) const {
  const std::string allowed = "must be the MAC of each bond, comma-separated, like \"aa:bb:cc:dd:ee:ff\": unicast (first byte even, "
                              "not all zero), all different";
  auto t = text(s, "\"aa:bb:cc:dd:ee:ff\"");
  if (!t) return bad(s, allowed);
  std::vector<Mac> out;
  for (const std::string& part : split_at(t.value(), ',')) {
    Mac m{};
    if (!conf::parse_mac(part, m)) return bad(s, allowed + " ('" + part + "' is not a MAC)");
    if ((m[0] & 1) != 0 || m == Mac{}) return bad(s, allowed + " (" + part + " is not unicast)");
    if (std::find(out.begin(), out.end(), m) != out.end()) return bad(s, allowed + " (" + part + " is given twice)");
    out.push_back(m);
  }
  if (out.size() > kMaxBonds) return bad(s, allowed + "; at most " + std::to_string(kMaxBonds) + " (one per bond)");
  return out;
}

// The name stays a plain file name in $GAZELLE_RUN_DIR, the same for ltran,
// its lstack processes and gazellectl's -u.
Result<std::string> ConfigReader::prefix(const config_setting_t* s) const {
  const std::string allowed = "must be at most " + std::to_string(kMaxUnixPrefix) +
                              " characters from A-Z, a-z, 0-9, '_', '.' and '-' (\"\" for none)";
  auto t = text(s, "\"08\"");
  if (!t) return bad(s, allowed);
  const std::string& p = t.value();
  const bool chars_ok = std::all_of(p.begin(), p.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '.' || ch == '-';
  });
  if (!chars_ok || p.size() > kMaxUnixPrefix) return bad(s, allowed);
  return p;
}

// A uid or gid: an integer, or a name looked up in the user (group) database.
Result<std::uint32_t> ConfigReader::id(const config_setting_t* s, unsigned index, std::string_view lit, bool group) const {
  const config_setting_t* e = config_setting_is_aggregate(s) ? config_setting_get_elem(s, index) : s;
  const std::string kind = group ? "group" : "user";
  const std::string allowed = "must list " + kind + " ids (0 to " + std::to_string(kMaxId) + ") or " + kind + " names, like [0, " +
                              (group ? "\"adm\"" : "\"www-data\"") + ", 1000]";
  const std::string nth = e != s ? " (element " + std::to_string(index + 1) + ")" : "";
  if (config_setting_type(e) != CONFIG_TYPE_STRING) {
    long long v = 0;
    if (!integer_value(e, lit, v) || v < 0 || v > kMaxId) return bad(s, allowed + nth);
    return static_cast<std::uint32_t>(v);
  }
  const std::string name = config_setting_get_string(e);
  std::uint32_t v = 0;
  bool found = false;
  if (const int err = lookup_id(name, group, v, found); err != 0) {
    return bad(s, "cannot look up " + kind + " \"" + name + "\"" + nth + ": " + std::strerror(err), err);
  }
  if (!found) {
    const bool digits = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    return bad(s, "no " + kind + " named \"" + name + "\" on this machine" + nth + (digits ? "; write ids without quotes" : "") +
                      "; allowed: " + kind + " ids or names of existing " + kind + "s");
  }
  return v;
}

Result<std::vector<std::uint32_t>> ConfigReader::ids(const config_setting_t* s, bool group) const {
  const int t = config_setting_type(s);
  const bool list = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
  if (!list && t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_STRING) {
    return bad(s, std::string("must be a list of ") + (group ? "group" : "user") + " ids or names, like [0, 1000]");
  }
  const std::string_view lit = literal(s);
  const std::vector<std::string_view> items = list ? list_items(lit) : std::vector<std::string_view>{lit};
  const unsigned n = list ? static_cast<unsigned>(config_setting_length(s)) : 1u;
  std::vector<std::uint32_t> out;
  for (unsigned i = 0; i < n; ++i) {
    // An element's text is trusted only when the written list splits as libconfig's did.
    auto v = id(s, i, items.size() == n ? items[i] : std::string_view(), group);
    if (!v) return v.error();
    if (std::find(out.begin(), out.end(), v.value()) == out.end()) out.push_back(v.value());
  }
  return out;
}

std::string_view ConfigReader::literal(const config_setting_t* s) const {
  const std::string file = file_of(s);
  const std::string* text = &text_;
  if (file != path_) {  // from an @include: read that file once
    auto it = included_.find(file);
    if (it == included_.end()) {
      auto t = read_text(file);
      it = included_.emplace(file, t ? std::move(t.value()) : std::string()).first;
    }
    text = &it->second;
  }
  return conf::setting_literal(*text, config_setting_source_line(s), config_setting_name(s));
}

std::string ConfigReader::value_text(const config_setting_t* s) const {
  if (const std::string_view lit = literal(s); !lit.empty()) {
    return lit.size() <= 60 ? std::string(lit) : std::string(lit.substr(0, 57)) + "...";
  }
  switch (config_setting_type(s)) {  // not found in the text: what libconfig holds
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

namespace {

using Apply = Result<void> (*)(const ConfigReader&, const config_setting_t*, LtranConfig&);

struct Key {
  const char* name;
  Apply apply;
};

template <class T, class F>
Result<void> assign(Result<T> r, F&& set) {
  if (!r) return r.error();
  set(std::move(r.value()));
  return {};
}

template <class T>
Result<void> assign_int(Result<long long> r, T& field) {
  return assign(std::move(r), [&](long long v) { field = static_cast<T>(v); });
}

// Every key ltran.conf may hold, and how its value is read. Gazelle's ranges,
// except bond_miimon (Gazelle: any positive int; ten seconds is already too
// slow to notice a dead link) and tcp_conn_scan_interval's 0.
const std::vector<Key>& keys() {
  using R = const ConfigReader&;
  using S = const config_setting_t*;
  using C = LtranConfig&;
  static const std::vector<Key> k = {
      {"forward_kit", [](R r, S s, C c) { return assign(r.forward_kit(s), [&](std::string v) { c.forward_kit = v; }); }},
      {"forward_kit_args", [](R r, S s, C c) { return assign(r.eal_args(s), [&](auto v) { c.forward_kit_args = v; }); }},
      {"kni_switch", [](R r, S s, C c) { return assign(r.flag(s), [&](bool v) { c.kni_switch = v; }); }},
      {"dispatch_max_clients", [](R r, S s, C c) { return assign_int(r.integer(s, 1, kMaxClients), c.dispatch_max_clients); }},
      {"dispatch_subnet", [](R r, S s, C c) { return assign(r.ipv4(s), [&](in_addr v) { c.dispatch_subnet = v; }); }},
      {"dispatch_subnet_length", [](R r, S s, C c) { return assign_int(r.integer(s, 1, 16), c.dispatch_subnet_length); }},
      {"bond_mode", [](R r, S s, C c) { return assign(r.bond_mode(s), [&](std::uint32_t v) { c.bond_mode = v; }); }},
      {"bond_miimon", [](R r, S s, C c) { return assign_int(r.integer(s, 1, 10000), c.bond_miimon); }},
      {"bond_mtu", [](R r, S s, C c) { return assign_int(r.integer(s, 68, 1500), c.bond_mtu); }},
      {"bond_ports", [](R r, S s, C c) { return assign(r.port_masks(s), [&](auto v) { c.bond_ports = v; }); }},
      {"bond_macs", [](R r, S s, C c) { return assign(r.macs(s), [&](auto v) { c.bond_macs = v; }); }},
      {"tcp_conn_scan_interval", [](R r, S s, C c) { return assign_int(r.integer(s, 0, 86400), c.tcp_conn_scan_interval); }},
      {"unix_prefix", [](R r, S s, C c) { return assign(r.prefix(s), [&](std::string v) { c.unix_prefix = v; }); }},
      {"allow_uids", [](R r, S s, C c) { return assign(r.ids(s, false), [&](auto v) { c.allow_uids = v; }); }},
      {"allow_gids", [](R r, S s, C c) { return assign(r.ids(s, true), [&](auto v) { c.allow_gids = v; }); }},
      {"instance_tx_pps", [](R r, S s, C c) { return assign_int(r.integer(s, 0, 100000000LL), c.instance_tx_pps); }},
      {"instance_tx_bps", [](R r, S s, C c) { return assign_int(r.integer(s, 0, 100000000000LL), c.instance_tx_bps); }},
  };
  return k;
}

// Keys of some Gazelle release that ltran does not implement: a copied
// Gazelle ltran.conf gets told so rather than "did you mean".
constexpr const char* kGazelleOnlyKeys[] = {"bond_rx_queue_num", "bond_tx_queue_num", "rx_mbuf_pool_size", "tx_mbuf_pool_size"};

std::string allowed_keys() {
  std::string all;
  for (const Key& k : keys()) all += (all.empty() ? "" : ", ") + std::string(k.name);
  return all;
}

Error unknown_key(const ConfigReader& r, const config_setting_t* s) {
  const std::string name = config_setting_name(s);
  const std::string at = r.where(s);
  for (const char* g : kGazelleOnlyKeys) {
    if (name == g) {
      return make_error(EINVAL, at + "key '" + name + "' is a Gazelle setting ltran does not implement; remove it. "
                                     "Allowed keys: " + allowed_keys());
    }
  }
  const std::string best = conf::closest(name, keys(), &Key::name);
  return make_error(EINVAL, at + "unknown key '" + name + "'" + (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                                "; allowed keys: " + allowed_keys());
}

}  // namespace

// Reads every setting of the parsed file into c, recording where each was set.
Result<void> ConfigReader::read_all(config_t& cfg, LtranConfig& c) const {
  const config_setting_t* root = config_root_setting(&cfg);
  for (int i = 0; i < config_setting_length(root); ++i) {
    const config_setting_t* s = config_setting_get_elem(root, static_cast<unsigned>(i));
    const std::string name = config_setting_name(s);
    const auto& table = keys();
    const auto it = std::find_if(table.begin(), table.end(), [&](const Key& k) { return name == k.name; });
    if (it == table.end()) return unknown_key(*this, s);
    if (auto r = it->apply(*this, s, c); !r) return r.error();
    c.origins_[name] = LtranConfig::Origin{file_of(s), static_cast<int>(config_setting_source_line(s))};
  }
  return {};
}

int LtranConfig::line_of(std::string_view key) const {
  const auto it = origins_.find(key);
  return it == origins_.end() ? 0 : it->second.line;
}

std::string LtranConfig::where(std::string_view key) const {
  const auto it = origins_.find(key);
  if (it == origins_.end()) return path + ": " + std::string(key);
  return it->second.file + ":" + std::to_string(it->second.line) + ": " + std::string(key);
}

namespace {

Error at(const LtranConfig& c, std::string_view key, const std::string& what) { return make_error(EINVAL, c.where(key) + ": " + what); }

Result<void> check_required(const LtranConfig& c) {
  static const std::pair<const char*, const char*> required[] = {
      {"forward_kit_args", "the EAL arguments of ltran, like forward_kit_args = \"-l 0,1 --socket-mem 1024 --proc-type primary\""},
      {"dispatch_subnet", "the subnet of the lstack processes' host_addr, like dispatch_subnet = \"192.168.1.0\""},
      {"bond_ports", "the DPDK ports of each bond as masks, like bond_ports = \"0x1\""},
      {"bond_macs", "the MAC of each bond, like bond_macs = \"aa:bb:cc:dd:ee:ff\""},
  };
  for (const auto& [key, what] : required) {
    if (c.line_of(key) == 0) return make_error(EINVAL, c.path + ": " + key + ": required (" + what + ")");
  }
  return {};
}

// Gazelle's rule: the subnet spans 2^length addresses from dispatch_subnet on.
Result<void> check_subnet(const LtranConfig& c) {
  const std::uint32_t net = ntohl(c.dispatch_subnet.s_addr);
  const std::uint32_t n = c.dispatch_subnet_length, low = (1u << n) - 1;
  const std::string shown = "\"" + ip_text(net) + "\"", len = std::to_string(n);
  if ((net & low) != 0) {
    return at(c, "dispatch_subnet", shown + " has some of its low " + len + " bits set: with dispatch_subnet_length = " + len +
                                        " the subnet is " + std::to_string(1u << n) + " addresses from dispatch_subnet on, so " +
                                        "its low " + len + " bits must be 0, like \"" + ip_text(net & ~low) + "\"");
  }
  const std::uint32_t top = net >> 24;
  if (top == 0 || top == 127 || top >= 224) {
    return at(c, "dispatch_subnet", shown + " is not a subnet of unicast host addresses (not in 0.0.0.0/8, 127.0.0.0/8 "
                                        "or 224.0.0.0 and above)");
  }
  return {};
}

// The rules no single value can break alone, first problem first.
Result<void> check_consistency(const LtranConfig& c) {
  if (auto r = check_required(c); !r) return r;
  if (auto r = check_subnet(c); !r) return r;
  if (c.bond_macs.size() != c.bond_ports.size()) {
    return at(c, "bond_macs", std::to_string(c.bond_macs.size()) + " MAC(s) for " + std::to_string(c.bond_ports.size()) +
                                  " bond(s) in bond_ports: one MAC per bond_ports mask is needed");
  }
  if (c.allow_uids.empty() && c.allow_gids.empty()) {
    return at(c, c.line_of("allow_uids") != 0 ? "allow_uids" : "allow_gids",
              "no process could register: allow_uids and allow_gids are both empty; list at least one user or group");
  }
  return {};
}

// Owns a config_t for its scope, whatever path leaves it.
struct LibconfigGuard {
  config_t cfg;
  LibconfigGuard() { config_init(&cfg); }
  ~LibconfigGuard() { config_destroy(&cfg); }
  LibconfigGuard(const LibconfigGuard&) = delete;
  LibconfigGuard& operator=(const LibconfigGuard&) = delete;
};

Result<LtranConfig> load(const std::string& path) {
  auto text = read_text(path);
  if (!text) return text.error();
  std::string for_libconfig = text.value();
  mixed_arrays_to_lists(for_libconfig);
  // No include dir, as in Gazelle: relative @include paths are found from the
  // working directory.
  LibconfigGuard g;
  if (config_read_string(&g.cfg, for_libconfig.c_str()) != CONFIG_TRUE) {
    const char* file = config_error_file(&g.cfg);
    const char* what = config_error_text(&g.cfg);
    // Only the main file's allow_uids/allow_gids arrays are turned into lists.
    const bool mixed = what != nullptr && std::strcmp(what, "mismatched element type in array") == 0;
    return make_error(EINVAL, std::string(file != nullptr ? file : path) + ":" + std::to_string(config_error_line(&g.cfg)) +
                                  ": syntax error: " + (what != nullptr ? what : "?") +
                                  (mixed ? " (an array [...] holds one type; mix ids and names in a list: (0, \"www-data\"))"
                                         : " (libconfig syntax: key = value; strings in double quotes)"));
  }
  LtranConfig c;
  c.path = path;
  const ConfigReader reader(path, std::move(text.value()));
  if (auto r = reader.read_all(g.cfg, c); !r) return r.error();
  if (auto r = check_consistency(c); !r) return r.error();
  return c;
}

}  // namespace

Result<LtranConfig> load_ltran_config(const std::string& path) {
  try {
    return load(path);
  } catch (const std::bad_alloc&) {
    return make_error(ENOMEM, path + ": out of memory while reading the ltran config");
  } catch (const std::exception& e) {
    return make_error(EINVAL, path + ": cannot read the ltran config: " + e.what());
  } catch (...) {
    return make_error(EINVAL, path + ": cannot read the ltran config");
  }
}

std::vector<std::string> eal_args_for_stock_dpdk(const LtranConfig& c) { return conf::stock_eal_args(c.forward_kit_args); }

bool client_allowed(const LtranConfig& c, std::uint32_t uid, std::uint32_t gid) noexcept {
  return std::find(c.allow_uids.begin(), c.allow_uids.end(), uid) != c.allow_uids.end() ||
         std::find(c.allow_gids.begin(), c.allow_gids.end(), gid) != c.allow_gids.end();
}

std::string mac_text(const Mac& m) { return conf::mac_text(m); }

}  // namespace gz::ltran
