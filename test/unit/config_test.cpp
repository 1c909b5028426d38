// lstack.conf: one test per rule, each checking that the one message names the
// file, the line, the key, the value and what is allowed; plus the defaults,
// the spellings Gazelle uses, the shipped sample and the machine checks.
#include "gz/config.hpp"
#include "gz/conf_text.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>

namespace gz::stack {
namespace {

const char* kValid =
    "dpdk_args = [\"--no-pci\", \"--vdev\", \"net_af_xdp0,iface=gz0\"];\n"  // line 1
    "num_cpus = \"0\";\n"                                                    // line 2
    "host_addr = \"192.168.77.1\";\n"                                        // line 3
    "mask_addr = \"255.255.255.0\";\n"                                       // line 4
    "devices = \"aa:bb:cc:dd:ee:0f\";\n";                                    // line 5

long cpus_here() { return sysconf(_SC_NPROCESSORS_CONF); }

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class ConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& p : written_) unlink(p.c_str());
  }
  std::string write(const std::string& text) {
    path_ = ::testing::TempDir() + "lstack_" + std::to_string(getpid()) + "_" + std::to_string(++n_) + ".conf";
    std::ofstream(path_, std::ios::binary) << text;
    written_.push_back(path_);
    return path_;
  }
  Config load_ok(const std::string& text) {
    auto r = load_config(write(text));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : Config{};
  }
  // Loads base + extra (extra starts at line 6 of kValid); expects EINVAL and
  // one line of message, returned with the file's path written FILE.
  std::string error_of(const std::string& extra, const std::string& base = kValid) {
    auto r = load_config(write(base + extra));
    EXPECT_FALSE(r.ok()) << "accepted: " << base + extra;
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code, EINVAL) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
    std::string m = r.error().message;
    for (std::size_t at = m.find(path_); at != std::string::npos; at = m.find(path_, at)) m.replace(at, path_.size(), "FILE");
    return m;
  }
  std::string path_;
  const std::string file_ = "FILE";  // path_ as error_of() returns it
  std::vector<std::string> written_;
  int n_ = 0;
};

#define EXPECT_HAS(msg, text) EXPECT_NE((msg).find(text), std::string::npos) << "in: " << (msg)

// ---- valid files -----------------------------------------------------------

TEST_F(ConfigTest, MinimalFileTakesTheDefaults) {
  const Config c = load_ok(kValid);
  EXPECT_EQ(c.path, path_);
  EXPECT_EQ(c.dpdk_args, (std::vector<std::string>{"--no-pci", "--vdev", "net_af_xdp0,iface=gz0"}));
  EXPECT_EQ(c.cpus, std::vector<int>{0});
  EXPECT_TRUE(c.wakeup_cpus.empty());
  EXPECT_TRUE(c.numa_bind);
  EXPECT_TRUE(c.app_bind_numa);
  EXPECT_FALSE(c.low_power_mode);
  EXPECT_FALSE(c.listen_shadow);
  EXPECT_FALSE(c.stack_mode_rtc);
  EXPECT_EQ(ntohl(c.host_addr.s_addr), 0xc0a84d01u);
  EXPECT_EQ(ntohl(c.mask_addr.s_addr), 0xffffff00u);
  EXPECT_EQ(c.gateway_addr.s_addr, 0u);
  EXPECT_EQ(c.devices, (std::array<std::uint8_t, 6>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}));
  EXPECT_EQ(c.tcp_conn_count, 1500u);
  EXPECT_EQ(c.mbuf_count_per_conn, 32u);
  EXPECT_EQ(c.nic_read_num, 32u);
  EXPECT_EQ(c.rpc_number, 4u);
  EXPECT_EQ(c.send_connect_number, 4u);
  EXPECT_EQ(c.read_connect_number, 4u);
  EXPECT_TRUE(c.udp_enable);
  EXPECT_EQ(c.nic_vlan_mode, -1);
  EXPECT_FALSE(c.use_ltran);
  EXPECT_FALSE(c.kni_switch);
  EXPECT_EQ(c.unix_prefix, "");
  EXPECT_EQ(c.line_of("dpdk_args"), 1);
  EXPECT_EQ(c.line_of("devices"), 5);
  EXPECT_EQ(c.line_of("tcp_conn_count"), 0);
  EXPECT_EQ(c.where("devices"), path_ + ":5: devices");
  EXPECT_EQ(c.where("tcp_conn_count"), path_ + ": tcp_conn_count");
}

TEST_F(ConfigTest, FullFileParsesIntoTheExpectedStruct) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs to put the wakeup thread apart";
  const Config c = load_ok(std::string(kValid) +
                           "num_wakeup = \"1\"; numa_bind = 0; app_bind_numa = 0; low_power_mode = 1;\n"  // line 6
                           "listen_shadow = 1; stack_mode_rtc = true; gateway_addr = \"192.168.77.254\";\n"
                           "tcp_conn_count = 100; mbuf_count_per_conn = 0x10; nic_read_number = 64;\n"
                           "rpc_number = 2; send_connect_number = 3; read_connect_number = 5; udp_enable = 0;\n"
                           "nic_vlan_mode = -1; use_ltran = 0; kni_switch = false; unix_prefix = \"t1_\";\n");
  EXPECT_EQ(c.wakeup_cpus, std::vector<int>{1});
  EXPECT_FALSE(c.numa_bind);
  EXPECT_FALSE(c.app_bind_numa);
  EXPECT_TRUE(c.low_power_mode);
  EXPECT_TRUE(c.listen_shadow);
  EXPECT_TRUE(c.stack_mode_rtc);
  EXPECT_EQ(ntohl(c.gateway_addr.s_addr), 0xc0a84dfeu);
  EXPECT_EQ(c.tcp_conn_count, 100u);
  EXPECT_EQ(c.mbuf_count_per_conn, 16u);
  EXPECT_EQ(c.nic_read_num, 64u);
  EXPECT_EQ(c.rpc_number, 2u);
  EXPECT_EQ(c.send_connect_number, 3u);
  EXPECT_EQ(c.read_connect_number, 5u);
  EXPECT_FALSE(c.udp_enable);
  EXPECT_EQ(c.unix_prefix, "t1_");
  EXPECT_EQ(c.line_of("num_wakeup"), 6);
  EXPECT_EQ(c.line_of("unix_prefix"), 10);
}

TEST_F(ConfigTest, OldWakeupSpellingNumWeakup) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs to put the wakeup thread apart";
  const Config c = load_ok(std::string(kValid) + "num_weakup = \"1\";\n");
  EXPECT_EQ(c.wakeup_cpus, std::vector<int>{1});
  EXPECT_EQ(c.line_of("num_wakeup"), 6);
  EXPECT_EQ(c.where("num_wakeup"), path_ + ":6: num_weakup");  // messages use the user's spelling
}

TEST_F(ConfigTest, NewerGazelleStackThreadModeSpelling) {
  Config c = load_ok(std::string(kValid) + "stack_thread_mode = \"run-to-completion\";\n");
  EXPECT_TRUE(c.stack_mode_rtc);
  EXPECT_EQ(c.line_of("stack_mode_rtc"), 6);
  c = load_ok(std::string(kValid) + "stack_thread_mode = \"run-to-wakeup\";\n");
  EXPECT_FALSE(c.stack_mode_rtc);
  EXPECT_HAS(error_of("stack_thread_mode = \"rtc\";\n"),
             file_ + ":6: stack_thread_mode = \"rtc\": must be \"run-to-wakeup\" (stack threads, like stack_mode_rtc = 0) or \"run-to-completion\"");
}

TEST_F(ConfigTest, CpuListAndRangeSyntax) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs";
  for (const char* list : {"\"0-1\"", "\"0,1\"", "\" 0 , 1 \"", "\"0-0,1-1\""}) {
    EXPECT_EQ(load_ok(replaced(kValid, "\"0\"", list)).cpus, (std::vector<int>{0, 1})) << list;
  }
  EXPECT_EQ(load_ok(replaced(kValid, "\"0\"", "\"1,0\"")).cpus, (std::vector<int>{1, 0}));  // order = stack index
  EXPECT_TRUE(load_ok(std::string(kValid) + "num_wakeup = \"\";\n").wakeup_cpus.empty());
}

TEST_F(ConfigTest, IncludedFileIsReadAndNamedInMessages) {
  write("tcp_conn_count = 7;\n");
  const std::string inc = path_;
  EXPECT_EQ(load_ok(std::string(kValid) + "@include \"" + inc + "\"\n").tcp_conn_count, 7u);
  write("\ntcp_conn_count = 0;\n");
  const std::string bad = path_;
  EXPECT_HAS(error_of("@include \"" + bad + "\"\n"), bad + ":2: tcp_conn_count = 0: must be an integer from 1 to 65535");
}

TEST_F(ConfigTest, ShippedSampleParses) {
  if (cpus_here() < 2) GTEST_SKIP() << "the sample puts its stack on CPU 1";
  auto r = load_config(GZ_SAMPLE_CONF);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.cpus, std::vector<int>{1});
  EXPECT_TRUE(c.low_power_mode);
  EXPECT_TRUE(c.stack_mode_rtc);  // the mode that measured fastest (README, Tuning)
  EXPECT_FALSE(c.use_ltran);
  EXPECT_EQ(ntohl(c.host_addr.s_addr), 0xc0a84d01u);
  EXPECT_EQ(ntohl(c.mask_addr.s_addr), 0xffffff00u);
  EXPECT_EQ(c.gateway_addr.s_addr, 0u);
  EXPECT_HAS(c.dpdk_args[5], "net_af_xdp0,iface=gz0");
  EXPECT_LE(hugepage_bytes_needed(c), 256u << 20);
}

TEST_F(ConfigTest, FromEnvironment) {
  write(kValid);
  const char* old = std::getenv("LSTACK_CONF_PATH");
  const std::string saved = old != nullptr ? old : "";
  setenv("LSTACK_CONF_PATH", path_.c_str(), 1);
  auto r = load_config_from_env();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().path, path_);
  setenv("LSTACK_CONF_PATH", "", 1);  // empty: the default path
  auto d = load_config_from_env();
  if (d.ok()) {
    EXPECT_EQ(d.value().path, "/etc/gazelle/lstack.conf");
  } else {
    EXPECT_HAS(d.error().message, "/etc/gazelle/lstack.conf");
  }
  if (old != nullptr) {
    setenv("LSTACK_CONF_PATH", saved.c_str(), 1);
  } else {
    unsetenv("LSTACK_CONF_PATH");
  }
}

// ---- hugepages -------------------------------------------------------------

TEST_F(ConfigTest, DefaultConfigNeedsAtMost256MiBPerStack) {
  const Config c = load_ok(kValid);
  EXPECT_EQ(mbuf_bytes(c), kMbufBytes);
  EXPECT_EQ(hugepage_bytes_needed(c), 1500u * 32u * 2496u + (8u << 20));  // 122.3 MiB
  EXPECT_LE(hugepage_bytes_needed(c) / c.cpus.size(), 256u << 20);
}

TEST_F(ConfigTest, HugepagesScaleWithStacksPoolFloorAndFrameSize) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs for two stacks";
  Config c = load_ok(replaced(kValid, "\"0\"", "\"0,1\""));
  EXPECT_EQ(hugepage_bytes_needed(c), 2 * (1500u * 32u * 2496u + (8u << 20)));
  c = load_ok(std::string(kValid) + "tcp_conn_count = 10;\n");  // 10 x 32 mbufs: the 4096 floor
  EXPECT_EQ(hugepage_bytes_needed(c), kMinPoolMbufs * kMbufBytes + kStackFixedBytes);
  // net_af_packet with framesz=8192: each mbuf holds a whole frame.
  c = load_ok(replaced(kValid, "net_af_xdp0,iface=gz0", "net_af_packet0,iface=gz0,framesz=8192,blocksz=8192"));
  EXPECT_EQ(mbuf_bytes(c), 128u + 64u + 8192u + 128u + 64u + 64u);  // 134 cache lines: 135
  // Without hugepages, whole 4 KiB pages (no object crosses one).
  c = load_ok(replaced(kValid, "\"--no-pci\"", "\"--no-huge\", \"-m\", \"1024\", \"--no-pci\""));
  EXPECT_EQ(mbuf_bytes(c), 4096u);
  c = load_ok(replaced(kValid, "\"--no-pci\", \"--vdev\", \"net_af_xdp0,iface=gz0\"",
                       "\"--no-huge\", \"-m\", \"1024\", \"--no-pci\", \"--vdev\", \"net_af_packet0,iface=gz0,framesz=8192\""));
  EXPECT_EQ(mbuf_bytes(c), 3u * 4096u);
}

// ---- the file --------------------------------------------------------------

TEST_F(ConfigTest, MissingFileIsEnoent) {
  auto r = load_config("/nonexistent/lstack.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().message, "cannot read the lstack config /nonexistent/lstack.conf: No such file or directory "
                               "(set LSTACK_CONF_PATH to the lstack.conf to use)");
}

TEST_F(ConfigTest, UnreadableFileIsEacces) {
  write(kValid);
  ASSERT_EQ(chmod(path_.c_str(), 0), 0);
  const std::string path = path_;
  // Root reads any file: the child gives up root first (nobody).
  EXPECT_EXIT(
      {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) std::_Exit(1);
        auto r = load_config(path);
        if (!r.ok()) std::fprintf(stderr, "%s\n", r.error().message.c_str());
        std::_Exit(r.ok() ? 0 : r.error().code);
      },
      ::testing::ExitedWithCode(EACCES), "cannot read the lstack config .*: Permission denied");
}

TEST_F(ConfigTest, FileTooLargeIsEfbig) {
  write(std::string(kValid) + std::string(std::size_t{1} << 20, '#') + "\n");
  auto r = load_config(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EFBIG);
}

TEST_F(ConfigTest, DirectoryIsEisdir) {
  auto r = load_config(::testing::TempDir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EISDIR);
  EXPECT_HAS(r.error().message, "Is a directory");
}

TEST_F(ConfigTest, NulByteIsRefused) {
  EXPECT_EQ(error_of(std::string("udp_enable = 1;\0\n", 17)), file_ + ":6: a NUL byte: lstack.conf must be text");
}

TEST_F(ConfigTest, SyntaxErrorNamesFileAndLine) {
  EXPECT_HAS(error_of("tcp_conn_count = = 3;\n"), file_ + ":6: syntax error: ");
  EXPECT_HAS(error_of("num_cpus = \"1\";\n"), file_ + ":6: syntax error: duplicate setting name");
}

TEST_F(ConfigTest, SameKeyInTwoSpellings) {
  EXPECT_EQ(error_of("num_wakeup = \"\";\nnum_weakup = \"\";\n"),
            file_ + ":7: num_weakup = \"\": num_wakeup is already set at line 6 (as num_wakeup); keep one of the two spellings");
  EXPECT_HAS(error_of("stack_mode_rtc = 0;\nstack_thread_mode = \"run-to-wakeup\";\n"),
             file_ + ":7: stack_thread_mode = \"run-to-wakeup\": stack_mode_rtc is already set at line 6");
}

// ---- unknown keys ----------------------------------------------------------

TEST_F(ConfigTest, UnknownKeySuggestsTheNearestKey) {
  const std::string m = error_of("num_cpu = \"1\";\n");
  EXPECT_HAS(m, file_ + ":6: unknown key 'num_cpu' (did you mean 'num_cpus'?); allowed keys: dpdk_args, num_cpus, num_wakeup, ");
  EXPECT_HAS(m, ", unix_prefix");
  EXPECT_EQ(m.find("num_weakup"), std::string::npos) << "old spellings are not advertised: " << m;
  EXPECT_HAS(error_of("nic_read_nums = 32;\n"), "unknown key 'nic_read_nums' (did you mean 'nic_read_num");
  EXPECT_HAS(error_of("Low_Power_Mode = 1;\n"), "(did you mean 'low_power_mode'?)");
}

TEST_F(ConfigTest, NicReadNumIsAcceptedAsNicReadNumber) {
  auto r = load_config(write(std::string(kValid) + "nic_read_num = 16;\n"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().nic_read_num, 16u);
}

TEST_F(ConfigTest, UnknownKeyFarFromAllListsAllowedKeys) {
  const std::string m = error_of("colour = \"blue\";\n");
  EXPECT_HAS(m, file_ + ":6: unknown key 'colour'; allowed keys: dpdk_args, ");
  EXPECT_EQ(m.find("did you mean"), std::string::npos) << m;
}

TEST_F(ConfigTest, GazelleKeyLstackDoesNotImplement) {
  EXPECT_HAS(error_of("bond_mode = 1;\n"),
             file_ + ":6: key 'bond_mode' is a Gazelle setting lstack does not implement; remove it. Allowed keys: dpdk_args");
}

// ---- types -----------------------------------------------------------------

TEST_F(ConfigTest, IntegerKeyWithAnotherType) {
  const char* range = ": must be an integer from 1 to 65535";
  EXPECT_EQ(error_of("tcp_conn_count = \"many\";\n"), file_ + ":6: tcp_conn_count = \"many\"" + range);
  EXPECT_EQ(error_of("tcp_conn_count = 1500.0;\n"), file_ + ":6: tcp_conn_count = 1500.0" + range);
  EXPECT_EQ(error_of("tcp_conn_count = true;\n"), file_ + ":6: tcp_conn_count = true" + range);
  EXPECT_EQ(error_of("tcp_conn_count = [1];\n"), file_ + ":6: tcp_conn_count = [1]" + range);
}

TEST_F(ConfigTest, IntegerBeyond32BitsIsNotTruncated) {
  // libconfig 1.5 would hand over 1 for 4294967297 and 0x100000001.
  EXPECT_EQ(error_of("tcp_conn_count = 4294967297;\n"), file_ + ":6: tcp_conn_count = 4294967297: must be an integer from 1 to 65535");
  EXPECT_HAS(error_of("tcp_conn_count = 0x100000001;\n"), ":6: tcp_conn_count = 0x100000001: must be an integer");
  EXPECT_HAS(error_of("tcp_conn_count = 99999999999999999999999;\n"), ":6: tcp_conn_count = 99999999999999999999999: must be");
  EXPECT_HAS(error_of("mbuf_count_per_conn = 4294967300L;\n"), ":6: mbuf_count_per_conn = 4294967300L: must be an integer from 4");
  EXPECT_EQ(load_ok(std::string(kValid) + "tcp_conn_count =\n  0x20; # hex, on the next line\n").tcp_conn_count, 32u);
}

TEST_F(ConfigTest, FlagIsZeroOrOne) {
  EXPECT_EQ(error_of("low_power_mode = 2;\n"), file_ + ":6: low_power_mode = 2: must be 0 or 1");
  EXPECT_EQ(error_of("low_power_mode = \"yes\";\n"), file_ + ":6: low_power_mode = \"yes\": must be 0 or 1");
  EXPECT_EQ(error_of("udp_enable = -1;\n"), file_ + ":6: udp_enable = -1: must be 0 or 1");
  EXPECT_TRUE(load_ok(std::string(kValid) + "low_power_mode = TRUE;\n").low_power_mode);
}

TEST_F(ConfigTest, StringKeyWithAnotherType) {
  EXPECT_EQ(error_of("unix_prefix = 3;\n"), file_ + ":6: unix_prefix = 3: must be a string in double quotes");
  EXPECT_HAS(error_of("", replaced(kValid, "\"0\"", "0")), file_ + ":2: num_cpus = 0: must list CPUs 0..");
}

// ---- values ----------------------------------------------------------------

using RangeCase = std::tuple<std::string, std::string, std::string>;  // key, value, allowed
class ConfigRangeTest : public ConfigTest, public ::testing::WithParamInterface<RangeCase> {};

TEST_P(ConfigRangeTest, OutOfRange) {
  const auto& [key, value, allowed] = GetParam();
  EXPECT_EQ(error_of(key + " = " + value + ";\n"),
            file_ + ":6: " + key + " = " + value + ": must be an integer from " + allowed);
}

INSTANTIATE_TEST_SUITE_P(
    EachCount, ConfigRangeTest,
    ::testing::Values(RangeCase{"tcp_conn_count", "0", "1 to 65535"}, RangeCase{"tcp_conn_count", "-5", "1 to 65535"},
                      RangeCase{"tcp_conn_count", "65536", "1 to 65535"}, RangeCase{"mbuf_count_per_conn", "3", "4 to 4096"},
                      RangeCase{"mbuf_count_per_conn", "4097", "4 to 4096"}, RangeCase{"nic_read_number", "0", "1 to 128"},
                      RangeCase{"nic_read_number", "129", "1 to 128"}, RangeCase{"rpc_number", "0", "1 to 1024"},
                      RangeCase{"send_connect_number", "0", "1 to 1024"}, RangeCase{"read_connect_number", "1025", "1 to 1024"},
                      RangeCase{"nic_vlan_mode", "-2", "-1 to 4094"}, RangeCase{"nic_vlan_mode", "4095", "-1 to 4094"}),
    [](const ::testing::TestParamInfo<RangeCase>& info) {
      const std::string& v = std::get<1>(info.param);
      return std::get<0>(info.param) + "_" + (v[0] == '-' ? "minus" + v.substr(1) : v);
    });

TEST_F(ConfigTest, UnparsableIpv4) {
  const char* allowed = ": must be a dotted IPv4 address like \"192.168.1.10\"";
  EXPECT_EQ(error_of("gateway_addr = \"999.1.1.1\";\n"), file_ + ":6: gateway_addr = \"999.1.1.1\"" + allowed);
  EXPECT_EQ(error_of("", replaced(kValid, "\"192.168.77.1\"", "\"192.168.77\"")), file_ + ":3: host_addr = \"192.168.77\"" + allowed);
  EXPECT_EQ(error_of("", replaced(kValid, "\"255.255.255.0\"", "\"/24\"")), file_ + ":4: mask_addr = \"/24\"" + allowed);
}

TEST_F(ConfigTest, UnparsableMac) {
  const char* allowed = ": must be a MAC address like \"aa:bb:cc:dd:ee:ff\" (the port to use)";
  for (const char* mac : {"aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:-f", "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:gg", "aa:bb:cc:dd:ee:ff:"}) {
    EXPECT_EQ(error_of("", replaced(kValid, "aa:bb:cc:dd:ee:0f", mac)), file_ + ":5: devices = \"" + mac + "\"" + allowed);
  }
  EXPECT_EQ(load_ok(replaced(kValid, "aa:bb:cc:dd:ee:0f", "AA:BB:CC:DD:EE:0F")).devices[0], 0xaa);
}

TEST_F(ConfigTest, MacThatNoPortCanHave) {
  for (const char* mac : {"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"}) {
    EXPECT_EQ(error_of("", replaced(kValid, "aa:bb:cc:dd:ee:0f", mac)),
              file_ + ":5: devices = \"" + mac + "\": must be the unicast MAC of a port, like \"aa:bb:cc:dd:ee:ff\" (first byte even, not all zero)");
  }
}

TEST_F(ConfigTest, BadCpuLists) {
  const std::string allowed = "must list CPUs 0.." + std::to_string(cpus_here() - 1) + " like \"1\", \"1,2\" or \"1-3\", each once";
  auto num_cpus = [&](const char* v) { return error_of("", replaced(kValid, "\"0\"", v)); };
  EXPECT_EQ(num_cpus("\"x\""), file_ + ":2: num_cpus = \"x\": " + allowed + " ('x' is not a CPU number or range)");
  EXPECT_EQ(num_cpus("\"9999\""), file_ + ":2: num_cpus = \"9999\": " + allowed + " (CPU 9999 does not exist)");
  EXPECT_EQ(num_cpus("\"0,0\""), file_ + ":2: num_cpus = \"0,0\": " + allowed + " (CPU 0 twice)");
  EXPECT_EQ(num_cpus("\"1-0\""), file_ + ":2: num_cpus = \"1-0\": " + allowed + " (range '1-0' is reversed)");
  EXPECT_EQ(num_cpus("\"\""), file_ + ":2: num_cpus = \"\": " + allowed + " (at least one: each is a stack thread)");
  for (const char* v : {"\"0,\"", "\"-1\"", "\"0-\"", "\"+0\"", "\"0x1\""}) EXPECT_HAS(num_cpus(v), "is not a CPU number or range");
  EXPECT_EQ(error_of("num_wakeup = \"a\";\n"),
            file_ + ":6: num_wakeup = \"a\": " + allowed + ", or be \"\" for none ('a' is not a CPU number or range)");
}

TEST_F(ConfigTest, BadDpdkArgs) {
  auto args = [&](const char* v) { return error_of("", replaced(kValid, "[\"--no-pci\", \"--vdev\", \"net_af_xdp0,iface=gz0\"]", v)); };
  EXPECT_HAS(args("[]"), file_ + ":1: dpdk_args = []: must not be empty: DPDK needs at least its device arguments");
  EXPECT_EQ(args("(\"-l\", 0)"), file_ + ":1: dpdk_args = (\"-l\", 0): must be a list of non-empty strings (element 2 is not)");
  EXPECT_EQ(args("[\"-l\", \"\"]"), file_ + ":1: dpdk_args = [\"-l\", \"\"]: must be a list of non-empty strings (element 2 is not)");
  EXPECT_EQ(args("\"--no-pci\""), file_ + ":1: dpdk_args = \"--no-pci\": must be a list of strings like [\"--no-pci\", \"-l\", \"0\"]");
}

TEST_F(ConfigTest, LongValuesAreShortenedInMessages) {
  const std::string m = error_of("unix_prefix = \"" + std::string(100, 'a') + "/\";\n");
  EXPECT_HAS(m, file_ + ":6: unix_prefix: \"");  // a rule across the value: it is printed whole
  EXPECT_HAS(error_of("tcp_conn_count = \"" + std::string(100, 'b') + "\";\n"), "tcp_conn_count = \"bbbbbbbbbb");
  EXPECT_HAS(error_of("tcp_conn_count = \"" + std::string(100, 'b') + "\";\n"), "...: must be an integer");
}

// ---- required keys ---------------------------------------------------------

TEST_F(ConfigTest, EachRequiredKeyMissing) {
  const std::pair<const char*, const char*> required[] = {
      {"dpdk_args", "the EAL arguments, like dpdk_args = ["}, {"num_cpus", "the CPUs of the stack threads, like num_cpus = \"1\""},
      {"host_addr", "lstack's IPv4 address, like host_addr = \""}, {"mask_addr", "the netmask of host_addr, like mask_addr = \""},
      {"devices", "the MAC of the DPDK port to use, like devices = \"aa:bb:cc:dd:ee:ff\""}};
  for (const auto& [key, what] : required) {
    std::string text = kValid;
    const std::size_t at = text.find(std::string(key) + " =");
    text.erase(at, text.find('\n', at) + 1 - at);
    EXPECT_EQ(error_of("", text).rfind(file_ + ": " + key + " is missing (required, no default): " + what, 0), 0u) << key;
  }
  EXPECT_HAS(error_of("", ""), file_ + ": dpdk_args is missing (required, no default)");
}

// ---- rules across keys -----------------------------------------------------

TEST_F(ConfigTest, MaskNotContiguous) {
  EXPECT_EQ(error_of("", replaced(kValid, "255.255.255.0", "255.0.255.0")),
            file_ + ":4: mask_addr: \"255.0.255.0\" is not a netmask lstack can use: contiguous ones from /1 to /30, like \"255.255.255.0\"");
}

TEST_F(ConfigTest, MaskWithoutRoomForANeighbour) {
  for (const char* mask : {"255.255.255.254", "255.255.255.255", "0.0.0.0"}) {
    EXPECT_HAS(error_of("", replaced(kValid, "255.255.255.0", mask)),
               file_ + ":4: mask_addr: \"" + mask + "\" is not a netmask lstack can use: contiguous ones from /1 to /30");
  }
  const Config slash30 = load_ok(replaced(replaced(kValid, "255.255.255.0", "255.255.255.252"), "192.168.77.1", "192.168.77.2"));
  EXPECT_EQ(ntohl(slash30.mask_addr.s_addr), 0xfffffffcu);
}

TEST_F(ConfigTest, HostAddressThatCannotBeAHost) {
  const std::pair<const char*, const char*> cases[] = {
      {"0.0.0.0", "it is in 0.0.0.0/8 (\"this network\")"},
      {"127.0.0.1", "it is loopback (127.0.0.0/8)"},
      {"224.0.0.1", "it is multicast (224.0.0.0/4)"},
      {"255.255.255.255", "it is reserved or broadcast (240.0.0.0/4)"},
      {"192.168.77.0", "it is the network address of 192.168.77.0/255.255.255.0"},
      {"192.168.77.255", "it is the broadcast address of 192.168.77.0/255.255.255.0"}};
  for (const auto& [host, why] : cases) {
    EXPECT_EQ(error_of("", replaced(kValid, "192.168.77.1", host)),
              file_ + ":3: host_addr: \"" + host + "\" cannot be a host address: " + why +
                  "; allowed: a unicast address inside mask_addr's subnet");
  }
}

TEST_F(ConfigTest, GatewayOutsideTheSubnet) {
  const std::string allowed = " 192.168.77.0/255.255.255.0 (allowed: 192.168.77.1 to 192.168.77.254 except 192.168.77.1, or \"0.0.0.0\" for none)";
  for (const char* gw : {"10.0.0.1", "192.168.77.1", "192.168.77.0", "192.168.77.255"}) {
    EXPECT_EQ(error_of(std::string("gateway_addr = \"") + gw + "\";\n"),
              file_ + ":6: gateway_addr: \"" + gw + "\" is not another address in host_addr's subnet" + allowed);
  }
  EXPECT_EQ(load_ok(std::string(kValid) + "gateway_addr = \"0.0.0.0\";\n").gateway_addr.s_addr, 0u);
}

TEST_F(ConfigTest, FewerWakeupCpusThanStacks) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs for two stacks";
  EXPECT_EQ(error_of("num_weakup = \"0\";\n", replaced(kValid, "\"0\"", "\"0,1\"")),
            file_ + ":6: num_weakup: 1 CPU(s) for 2 stack threads in num_cpus: must list one per stack thread, or be left out");
}

TEST_F(ConfigTest, CpuBothStackAndWakeup) {
  EXPECT_EQ(error_of("num_wakeup = \"0\";\n"), file_ + ":6: num_wakeup: CPU 0 is also a stack CPU in num_cpus; they must differ");
}

TEST_F(ConfigTest, KniWithLtran) {
  EXPECT_EQ(error_of("use_ltran = 1;\nkni_switch = 1;\n"),
            file_ + ":7: kni_switch: 1 cannot be combined with use_ltran = 1 (Gazelle refuses it too)");
}

TEST_F(ConfigTest, LtranAccepted) {
  auto r = load_config(write(kValid + std::string("use_ltran = 1;\n")));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().use_ltran);
}

TEST_F(ConfigTest, KniNotAvailable) {
  EXPECT_EQ(error_of("kni_switch = 1;\n"), file_ + ":6: kni_switch: 1 is not available: DPDK 22.11 has no KNI; allowed: 0");
}

TEST_F(ConfigTest, VlanNotSupportedYet) {
  EXPECT_EQ(error_of("nic_vlan_mode = 10;\n"),
            file_ + ":6: nic_vlan_mode: 10: VLANs are not supported yet; allowed: -1 (no VLAN)");
}

TEST_F(ConfigTest, UnixPrefixThatCannotNameASocket) {
  const std::string allowed = " must be at most 64 printable characters without '/'";
  EXPECT_EQ(error_of("unix_prefix = \"a/b\";\n"), file_ + ":6: unix_prefix: \"a/b\"" + allowed);
  EXPECT_EQ(error_of("unix_prefix = \"" + std::string(65, 'p') + "\";\n"),
            file_ + ":6: unix_prefix: \"" + std::string(65, 'p') + "\"" + allowed);
  EXPECT_EQ(error_of("unix_prefix = \"a\\nb\";\n"), file_ + ":6: unix_prefix: \"a\\x0ab\"" + allowed);
  EXPECT_EQ(load_ok(std::string(kValid) + "unix_prefix = \"" + std::string(64, 'p') + "\";\n").unix_prefix.size(), 64u);
}

// ---- the machine -----------------------------------------------------------

constexpr std::size_t kGiB = std::size_t{1} << 30;

TEST_F(ConfigTest, MachineThatFits) {
  const Config c = load_ok(kValid);
  EXPECT_TRUE(check_against_machine(c, MachineFacts{{{{2, 0, 0, 0, 0, 1}, 4, 4}, {c.devices, 1, 1}}, kGiB}).ok());
}

TEST_F(ConfigTest, NoPortHasTheMac) {
  const Config c = load_ok(kValid);
  auto none = check_against_machine(c, MachineFacts{{}, kGiB});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, EINVAL);
  EXPECT_EQ(none.error().message,
            path_ + ":5: devices: no DPDK port has MAC aa:bb:cc:dd:ee:0f (ports: none; check dpdk_args' --vdev/-a)");
  auto other = check_against_machine(c, MachineFacts{{{{2, 0, 0, 0, 0, 1}, 1, 1}, {{2, 0, 0, 0, 0, 2}, 1, 1}}, kGiB});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message,
            path_ + ":5: devices: no DPDK port has MAC aa:bb:cc:dd:ee:0f (ports: 02:00:00:00:00:01, 02:00:00:00:00:02)");
}

TEST_F(ConfigTest, MoreStacksThanQueues) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs for two stacks";
  const Config c = load_ok(replaced(kValid, "\"0\"", "\"0-1\""));
  for (const auto& [rx, tx] : {std::pair<std::uint16_t, std::uint16_t>{1, 4}, {4, 1}}) {
    auto r = check_against_machine(c, MachineFacts{{{c.devices, rx, tx}}, kGiB});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, path_ + ":2: num_cpus: 2 stack threads, but the port has 1 queue pair(s): one each is needed; "
                                         "allowed: at most 1 CPU(s)");
  }
  EXPECT_TRUE(check_against_machine(c, MachineFacts{{{c.devices, 2, 2}}, kGiB}).ok());
}

TEST_F(ConfigTest, PoolsLargerThanFreeHugepages) {
  const Config c = load_ok(kValid);
  auto r = check_against_machine(c, MachineFacts{{{c.devices, 1, 1}}, std::size_t{16} << 20});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path_ + ": tcp_conn_count: 1500 x mbuf_count_per_conn 32 = 48000 mbufs of 2496 bytes + 8 MiB per stack "
                                       "x 1 stack(s) needs 123 MiB of hugepages, 16 MiB are free: lower tcp_conn_count or "
                                       "mbuf_count_per_conn, or reserve more hugepages");
  EXPECT_TRUE(check_against_machine(c, MachineFacts{{{c.devices, 1, 1}}, hugepage_bytes_needed(c)}).ok());
  const Config set = load_ok(std::string(kValid) + "tcp_conn_count = 2000;\n");
  EXPECT_HAS(check_against_machine(set, MachineFacts{{{c.devices, 1, 1}}, 0}).error().message, path_ + ":6: tcp_conn_count: 2000 x");
}

// Gazelle's form (--legacy-mem) makes --socket-mem all DPDK has: pools beyond it
// are refused at load, naming dpdk_args and what they need, not when the second
// stack's pool fails. Without legacy mode it only reserves up front: no limit.
TEST_F(ConfigTest, DpdkArgsGiveLessMemoryThanThePoolsNeed) {
  if (cpus_here() < 2) GTEST_SKIP() << "needs 2 CPUs for two stacks";
  const std::string two = replaced(kValid, "\"0\"", "\"0,1\"");
  const auto with = [&](const std::string& text, const std::string& eal) { return replaced(text, "\"--no-pci\"", eal + ", \"--no-pci\""); };
  const std::string legacy = "\"--legacy-mem\", \"--socket-mem\", \"200\"";
  EXPECT_EQ(error_of("", with(two, legacy)),
            file_ + ":1: dpdk_args: they give DPDK 200 MiB (--socket-mem or -m with --legacy-mem or --no-huge), but 2 stack(s) "
                    "of 48000 mbufs of 2496 bytes + 8 MiB each need 245 MiB: give at least 245, or lower tcp_conn_count or "
                    "mbuf_count_per_conn");
  EXPECT_EQ(load_ok(with(two, "\"--legacy-mem\", \"--socket-mem\", \"245,0\"")).cpus.size(), 2u);
  EXPECT_EQ(load_ok(with(kValid, legacy)).cpus.size(), 1u);
  EXPECT_EQ(load_ok(with(two, "\"--socket-mem\", \"200\"")).cpus.size(), 2u) << "dynamic memory: only reserved up front";
  EXPECT_EQ(load_ok(with(two, "\"--in-memory\", \"-m\", \"128\"")).cpus.size(), 2u);
  EXPECT_EQ(load_ok(with(two + "use_ltran = 1;\n", legacy)).cpus.size(), 2u) << "behind ltran lstack leaves --legacy-mem out";
  EXPECT_HAS(error_of("", with(two, "\"--no-huge\", \"-m\", \"128\"")), ":1: dpdk_args: they give DPDK 128 MiB");
  EXPECT_HAS(error_of("", with(two, "\"--no-huge\"")), ":1: dpdk_args: they give DPDK 64 MiB");  // EAL's default then
  // Without hugepages no mbuf crosses a 4 KiB page: one a page. README's unprivileged
  // form fits one stack (196 MiB), not two.
  EXPECT_EQ(load_ok(with(kValid, "\"--no-huge\", \"-m\", \"256\"")).cpus.size(), 1u);
  EXPECT_HAS(error_of("", with(two, "\"--no-huge\", \"-m\", \"256\"")),
             "but 2 stack(s) of 48000 mbufs of 4096 bytes + 8 MiB each need 391 MiB: give at least 391");
  EXPECT_HAS(error_of("", with(two, "\"--legacy-mem\", \"-m128\"")), "give at least 245");
  EXPECT_HAS(error_of("", with(two + "mbuf_count_per_conn = 16;\n", "\"--legacy-mem\", \"--socket-mem=100\"")),
             ":1: dpdk_args: they give DPDK 100 MiB (--socket-mem or -m with --legacy-mem or --no-huge), but 2 stack(s) of "
             "24000 mbufs");
}

TEST(EalMemory, WhatTheArgumentsAskFor) {
  using V = std::vector<std::string>;
  EXPECT_EQ(conf::eal_memory_mib(V{"--in-memory", "-l", "0"}), 0u);
  EXPECT_EQ(conf::eal_memory_mib(V{"--socket-mem", "1024,0,0,0"}), 1024u);
  EXPECT_EQ(conf::eal_memory_mib(V{"--socket-mem=256,256"}), 512u);
  EXPECT_EQ(conf::eal_memory_mib(V{"-m", "256"}), 256u);
  EXPECT_EQ(conf::eal_memory_mib(V{"-m512"}), 512u);
  EXPECT_EQ(conf::eal_memory_mib(V{"-m", "lots"}), 0u);  // EAL's atoi: 0, as none
  EXPECT_EQ(conf::eal_memory_mib(V{"-m"}), 0u);
  EXPECT_EQ(conf::eal_memory_mib(V{"--socket-limit", "64", "--memory-channels", "4"}), 0u);
}

}  // namespace
}  // namespace gz::stack
