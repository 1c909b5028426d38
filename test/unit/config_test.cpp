// lstack.conf: one test per rule, each checking the file, line, key and the
// allowed values in the message.
#include "gz/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace gz::stack {
namespace {

const char* kValid =
    "dpdk_args = [\"--no-pci\", \"--vdev\", \"net_af_xdp0,iface=gz0\"];\n"  // line 1
    "num_cpus = \"0\";\n"                                                    // line 2
    "host_addr = \"192.168.77.1\";\n"                                        // line 3
    "mask_addr = \"255.255.255.0\";\n"                                       // line 4
    "devices = \"aa:bb:cc:dd:ee:0f\";\n";                                    // line 5

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = ::testing::TempDir() + "lstack_" + std::to_string(getpid()) + "_" + std::to_string(++n_) + ".conf";
    std::ofstream(path_) << text;
    return path_;
  }
  // Loads kValid plus extra lines (starting at line 6); expects failure.
  std::string error_of(const std::string& extra, const std::string& base = kValid) {
    auto r = load_config(write(base + extra));
    EXPECT_FALSE(r.ok()) << "accepted: " << extra;
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code, EINVAL);
    return r.error().message;
  }
  std::string path_;
  int n_ = 0;
};

#define EXPECT_HAS(msg, text) EXPECT_NE((msg).find(text), std::string::npos) << (msg)

TEST_F(ConfigTest, ValidFileWithDefaults) {
  auto r = load_config(write(kValid));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.dpdk_args.size(), 3u);
  EXPECT_EQ(c.cpus, std::vector<int>{0});
  EXPECT_EQ(c.devices[5], 0x0f);
  EXPECT_EQ(c.tcp_conn_count, 1500u);
  EXPECT_EQ(c.mbuf_count_per_conn, 32u);
  EXPECT_FALSE(c.low_power_mode);
  EXPECT_FALSE(c.stack_mode_rtc);
  EXPECT_TRUE(c.udp_enable);
  EXPECT_EQ(c.nic_vlan_mode, -1);
  EXPECT_EQ(c.gateway_addr.s_addr, 0u);
  EXPECT_EQ(c.line_of("devices"), 5);
  EXPECT_EQ(c.line_of("tcp_conn_count"), 0);
}

TEST_F(ConfigTest, EveryKeyAndTheOldWakeupSpelling) {
  const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  if (ncpu < 2) GTEST_SKIP() << "needs 2 CPUs to put the wakeup thread apart";
  auto r = load_config(write(std::string(kValid) +
                             "num_weakup = \"1\"; numa_bind = 0; app_bind_numa = 0; low_power_mode = 1; listen_shadow = 1;\n"
                             "stack_mode_rtc = true; gateway_addr = \"192.168.77.254\"; tcp_conn_count = 100;\n"
                             "mbuf_count_per_conn = 8; nic_read_num = 64; rpc_number = 2; send_connect_number = 3;\n"
                             "read_connect_number = 5; udp_enable = 0; nic_vlan_mode = -1; use_ltran = 0; kni_switch = 0;\n"
                             "unix_prefix = \"t1_\";\n"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r.value();
  EXPECT_EQ(c.wakeup_cpus, std::vector<int>{1});
  EXPECT_EQ(c.line_of("num_wakeup"), 6);
  EXPECT_FALSE(c.numa_bind);
  EXPECT_TRUE(c.low_power_mode && c.listen_shadow && c.stack_mode_rtc);
  EXPECT_EQ(c.tcp_conn_count, 100u);
  EXPECT_EQ(c.nic_read_num, 64u);
  EXPECT_FALSE(c.udp_enable);
  EXPECT_EQ(c.unix_prefix, "t1_");
}

TEST_F(ConfigTest, CpuListsAndRanges) {
  const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  if (ncpu < 2) GTEST_SKIP() << "needs 2 CPUs";
  std::string base = kValid;
  base.replace(base.find("\"0\""), 3, "\"0-1\"");
  auto r = load_config(write(base));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().cpus, (std::vector<int>{0, 1}));
}

TEST_F(ConfigTest, MissingFileIsEnoent) {
  auto r = load_config("/nonexistent/lstack.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_HAS(r.error().message, "/nonexistent/lstack.conf");
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLine) {
  const std::string m = error_of("tcp_conn_count = = 3;\n");
  EXPECT_HAS(m, path_ + ":6: syntax error");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheRightOne) {
  const std::string m = error_of("num_cpu = \"1\";\n");
  EXPECT_HAS(m, path_ + ":6: unknown key 'num_cpu' (did you mean 'num_cpus'?)");
  EXPECT_HAS(m, "allowed keys: dpdk_args, num_cpus");
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_HAS(error_of("tcp_conn_count = \"many\";\n"), ":6: tcp_conn_count = \"many\": must be an integer from 1 to 65535");
  EXPECT_HAS(error_of("low_power_mode = 2;\n"), ":6: low_power_mode = 2: must be 0 or 1");
  EXPECT_HAS(error_of("unix_prefix = 3;\n"), ":6: unix_prefix = 3: must be a string");
}

TEST_F(ConfigTest, OutOfRangeValues) {
  EXPECT_HAS(error_of("tcp_conn_count = -5;\n"), ":6: tcp_conn_count = -5: must be an integer from 1 to 65535");
  EXPECT_HAS(error_of("mbuf_count_per_conn = 1;\n"), "mbuf_count_per_conn = 1: must be an integer from 4 to 4096");
  EXPECT_HAS(error_of("nic_read_num = 500;\n"), "nic_read_num = 500: must be an integer from 1 to 128");
  EXPECT_HAS(error_of("nic_vlan_mode = 5000;\n"), "nic_vlan_mode = 5000: must be an integer from -1 to 4094");
}

TEST_F(ConfigTest, BadCpuLists) {
  EXPECT_HAS(error_of("num_wakeup = \"x\";\n"), ":6: num_wakeup = \"x\": must list CPUs");
  EXPECT_HAS(error_of("num_wakeup = \"9999\";\n"), "num_wakeup = \"9999\": must list CPUs 0..");
  std::string dup = kValid;
  dup.replace(dup.find("\"0\""), 3, "\"0,0\"");
  EXPECT_HAS(error_of("", dup), ":2: num_cpus = \"0,0\": must list CPUs");
  EXPECT_HAS(error_of("", dup), "CPU 0 twice");
  EXPECT_HAS(error_of("num_wakeup = \"0\";\n"), ":6: num_wakeup: CPU 0 is also a stack CPU");
}

TEST_F(ConfigTest, BadAddresses) {
  EXPECT_HAS(error_of("gateway_addr = \"10.0.0.1\";\n"),
             ":6: gateway_addr: \"10.0.0.1\" is not another address in host_addr's subnet 192.168.77.0/255.255.255.0");
  EXPECT_HAS(error_of("gateway_addr = \"999.1.1.1\";\n"), ":6: gateway_addr = \"999.1.1.1\": must be a dotted IPv4 address");
  std::string mask = kValid;
  mask.replace(mask.find("255.255.255.0"), 13, "255.0.255.0");
  EXPECT_HAS(error_of("", mask), ":4: mask_addr: \"255.0.255.0\" is not a netmask");
  std::string host = kValid;
  host.replace(host.find("192.168.77.1"), 12, "224.0.0.1");
  EXPECT_HAS(error_of("", host), ":3: host_addr: \"224.0.0.1\" cannot be a host address");
}

TEST_F(ConfigTest, BadMacAndArgs) {
  std::string mac = kValid;
  mac.replace(mac.find("aa:bb:cc:dd:ee:0f"), 17, "aa:bb:cc:dd:ee");
  EXPECT_HAS(error_of("", mac), ":5: devices = \"aa:bb:cc:dd:ee\": must be a MAC address");
  std::string args = kValid;
  args.replace(0, args.find(";"), "dpdk_args = []");
  EXPECT_HAS(error_of("", args), ":1: dpdk_args = [...]: must not be empty");
}

TEST_F(ConfigTest, MissingRequiredKey) {
  std::string no_mac = kValid;
  no_mac.erase(no_mac.find("devices"));
  const std::string m = error_of("", no_mac);
  EXPECT_HAS(m, path_ + ": devices is missing; it has no default");
}

TEST_F(ConfigTest, FeaturesNotAvailableSaySo) {
  EXPECT_HAS(error_of("use_ltran = 1;\n"), ":6: use_ltran: 1 is not available yet");
  EXPECT_HAS(error_of("kni_switch = 1;\n"), ":6: kni_switch: 1 is not available: DPDK 22.11 has no KNI");
  EXPECT_HAS(error_of("nic_vlan_mode = 10;\n"), ":6: nic_vlan_mode: VLANs are not supported yet");
  EXPECT_HAS(error_of("unix_prefix = \"a/b\";\n"), ":6: unix_prefix: \"a/b\" must be at most 64 characters");
}

TEST_F(ConfigTest, MachineChecks) {
  auto r = load_config(write(kValid));
  ASSERT_TRUE(r.ok());
  const Config& c = r.value();
  MachineFacts none{{}, 1u << 30};
  auto e = check_against_machine(c, none);
  ASSERT_FALSE(e.ok());
  EXPECT_HAS(e.error().message, path_ + ":5: devices: no DPDK port has MAC aa:bb:cc:dd:ee:0f (ports: none");
  MachineFacts other{{{{1, 2, 3, 4, 5, 6}, 1, 1}}, 1u << 30};
  EXPECT_HAS(check_against_machine(c, other).error().message, "(ports: 01:02:03:04:05:06)");
  MachineFacts ok{{{c.devices, 1, 1}}, 1u << 30};
  EXPECT_TRUE(check_against_machine(c, ok).ok());
  MachineFacts small{{{c.devices, 1, 1}}, 16u << 20};
  EXPECT_HAS(check_against_machine(c, small).error().message, "needs 119 MiB of hugepages, 16 MiB are free");
}

TEST_F(ConfigTest, MoreStacksThanQueues) {
  const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  if (ncpu < 2) GTEST_SKIP() << "needs 2 CPUs for two stacks";
  std::string two = kValid;
  two.replace(two.find("\"0\""), 3, "\"0,1\"");
  auto r = load_config(write(two));
  ASSERT_TRUE(r.ok());
  MachineFacts one_queue{{{r.value().devices, 1, 1}}, 1u << 30};
  EXPECT_HAS(check_against_machine(r.value(), one_queue).error().message,
             ":2: num_cpus: 2 stack threads, but the port has 1 queue pair(s)");
}

TEST_F(ConfigTest, DefaultConfigFitsIn256MiBPerStack) {
  auto r = load_config(write(kValid));
  ASSERT_TRUE(r.ok());
  EXPECT_LE(hugepage_bytes_needed(r.value()), 256u << 20);
}

TEST_F(ConfigTest, ShippedSampleParses) {
  auto r = load_config(GZ_SAMPLE_CONF);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().low_power_mode);
  EXPECT_EQ(r.value().cpus, std::vector<int>{1});
}

}  // namespace
}  // namespace gz::stack
