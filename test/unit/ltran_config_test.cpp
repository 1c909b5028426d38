// ltran.conf: one test per rule, each checking that the one message names the
// file, the line, the key, the value and what is allowed; plus the defaults,
// Gazelle's samples, names for uids and gids, and the EAL arguments handed to
// a stock DPDK.
#include "config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace gz::ltran {
namespace {

const char* kValid =
    "forward_kit_args = \"-l 0 --proc-type primary\";\n"  // line 1
    "dispatch_subnet = \"192.168.1.0\";\n"                // line 2
    "bond_ports = \"0x1\";\n"                             // line 3
    "bond_macs = \"aa:bb:cc:dd:ee:ff\";\n";               // line 4

const std::string kAllowedKeys =
    "forward_kit, forward_kit_args, kni_switch, dispatch_max_clients, dispatch_subnet, dispatch_subnet_length, "
    "bond_mode, bond_miimon, bond_mtu, bond_ports, bond_macs, tcp_conn_scan_interval, unix_prefix, allow_uids, "
    "allow_gids, instance_tx_pps, instance_tx_bps";

// Gazelle's own sample (src/ltran/ltran.conf, its docs): no spaces, no semicolons.
const char* kGazelleSample =
    "forward_kit_args=\"-l 0,1 --socket-mem 1024,0,0,0 --huge-dir /mnt/hugepages-ltran --proc-type primary "
    "--legacy-mem --map-perfect --syslog daemon\"\n"
    "forward_kit=\"dpdk\"\n"
    "\n"
    "kni_switch=0\n"
    "\n"
    "dispatch_max_clients=30\n"
    "dispatch_subnet=\"192.168.1.0\"\n"
    "dispatch_subnet_length=8\n"
    "\n"
    "bond_mode=1\n"
    "bond_miimon=100\n"
    "bond_mtu=1500\n"
    "bond_ports=\"0x1\"\n"
    "bond_macs=\"aa:bb:cc:dd:ee:ff\"\n"
    "\n"
    "tcp_conn_scan_interval=10\n";

using Mac = std::array<std::uint8_t, 6>;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string ip(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

class LtranConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& p : written_) unlink(p.c_str());
  }
  std::string write(const std::string& text) {
    path_ = ::testing::TempDir() + "ltran_" + std::to_string(getpid()) + "_" + std::to_string(++n_) + ".conf";
    std::ofstream(path_, std::ios::binary) << text;
    written_.push_back(path_);
    return path_;
  }
  LtranConfig load_ok(const std::string& text) {
    auto r = load_ltran_config(write(text));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : LtranConfig{};
  }
  // Loads base + extra (extra starts at line 5 of kValid); expects `code` and
  // one line of message, returned with the file's path written FILE.
  std::string error_of(const std::string& extra, const std::string& base = kValid, int code = EINVAL) {
    auto r = load_ltran_config(write(base + extra));
    EXPECT_FALSE(r.ok()) << "accepted: " << base + extra;
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
    std::string m = r.error().message;
    for (std::size_t at = m.find(path_); at != std::string::npos; at = m.find(path_, at)) m.replace(at, path_.size(), "FILE");
    return m;
  }
  std::string path_;
  std::vector<std::string> written_;
  int n_ = 0;
};

#define EXPECT_HAS(msg, text) EXPECT_NE((msg).find(text), std::string::npos) << "in: " << (msg)

// ---- valid files -----------------------------------------------------------

TEST_F(LtranConfigTest, MinimalFileTakesTheDefaults) {
  const LtranConfig c = load_ok(kValid);
  EXPECT_EQ(c.path, path_);
  EXPECT_EQ(c.forward_kit, "dpdk");
  EXPECT_EQ(c.forward_kit_args, (std::vector<std::string>{"-l", "0", "--proc-type", "primary"}));
  EXPECT_FALSE(c.kni_switch);
  EXPECT_EQ(c.dispatch_max_clients, 30u);
  EXPECT_EQ(ip(c.dispatch_subnet), "192.168.1.0");
  EXPECT_EQ(c.dispatch_subnet_length, 8u);
  EXPECT_EQ(c.bond_mode, 1u);
  EXPECT_EQ(c.bond_miimon, 100u);
  EXPECT_EQ(c.bond_mtu, 1500u);
  EXPECT_EQ(c.bond_ports, std::vector<std::uint32_t>{1});
  EXPECT_EQ(c.bond_macs, (std::vector<Mac>{{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}}));
  EXPECT_EQ(c.tcp_conn_scan_interval, 600u);
  EXPECT_EQ(c.unix_prefix, "");
  EXPECT_EQ(c.allow_uids, std::vector<std::uint32_t>{0});
  EXPECT_TRUE(c.allow_gids.empty());
  EXPECT_EQ(c.instance_tx_pps, 0u);
  EXPECT_EQ(c.instance_tx_bps, 0u);
  EXPECT_EQ(c.line_of("bond_macs"), 4);
  EXPECT_EQ(c.line_of("bond_mtu"), 0);
  EXPECT_EQ(c.where("bond_ports"), path_ + ":3: bond_ports");
  EXPECT_EQ(c.where("bond_mtu"), path_ + ": bond_mtu");
}

TEST_F(LtranConfigTest, GazelleSampleParses) {
  const LtranConfig c = load_ok(kGazelleSample);
  EXPECT_EQ(c.forward_kit_args.size(), 12u);
  EXPECT_EQ(c.forward_kit_args[9], "--map-perfect");
  EXPECT_EQ(c.dispatch_max_clients, 30u);
  EXPECT_EQ(c.tcp_conn_scan_interval, 10u);
  EXPECT_EQ(c.bond_macs.size(), 1u);
  EXPECT_EQ(c.line_of("tcp_conn_scan_interval"), 16);
}

TEST_F(LtranConfigTest, GazelleSecondProcessExampleParses) {
  const std::string text = replaced(replaced(kGazelleSample, "--syslog daemon", "--syslog daemon --file-prefix 08 -a 0000:02:08.0"),
                                    "tcp_conn_scan_interval=10\n", "tcp_conn_scan_interval=10\nunix_prefix=\"08\"\n");
  const LtranConfig c = load_ok(text);
  EXPECT_EQ(c.unix_prefix, "08");
  EXPECT_EQ(c.forward_kit_args.back(), "0000:02:08.0");
}

TEST_F(LtranConfigTest, ShippedSampleParses) {
  auto r = load_ltran_config(GZ_LTRAN_SAMPLE_CONF);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const LtranConfig& c = r.value();
  EXPECT_EQ(c.forward_kit_args.front(), "-l");
  EXPECT_NE(std::find(c.forward_kit_args.begin(), c.forward_kit_args.end(), "--map-perfect"), c.forward_kit_args.end());
  EXPECT_EQ(ip(c.dispatch_subnet), "192.168.1.0");
  EXPECT_EQ(c.bond_ports, std::vector<std::uint32_t>{1});
  EXPECT_EQ(c.tcp_conn_scan_interval, 10u);
  EXPECT_EQ(c.allow_uids, std::vector<std::uint32_t>{0});
  EXPECT_TRUE(c.allow_gids.empty());
  EXPECT_GT(c.line_of("instance_tx_bps"), 0);
}

TEST_F(LtranConfigTest, FullFileParsesIntoTheExpectedStruct) {
  const LtranConfig c = load_ok(replaced(replaced(kValid, "\"0x1\"", "\"0x1, 0x6\""), "\"aa:bb:cc:dd:ee:ff\"",
                                         "\"02:00:00:00:00:01,02:00:00:00:00:02\"") +
                                "forward_kit = \"dpdk\";\n"
                                "kni_switch = 1;\n"
                                "dispatch_max_clients = 32;\n"
                                "dispatch_subnet_length = 4;\n"
                                "bond_mode = 4;\n"
                                "bond_miimon = 10000;\n"
                                "bond_mtu = 0x44;\n"  // 68, hex as libconfig allows
                                "tcp_conn_scan_interval = 0;\n"
                                "unix_prefix = \"a-Z_0.9\";\n"
                                "allow_uids = [0, 1000, 4294967294];\n"
                                "allow_gids = [7];\n"
                                "instance_tx_pps = 100000000;\n"
                                "instance_tx_bps = 100000000000;\n");  // beyond 32 bits, no L
  EXPECT_TRUE(c.kni_switch);
  EXPECT_EQ(c.dispatch_max_clients, 32u);
  EXPECT_EQ(c.dispatch_subnet_length, 4u);
  EXPECT_EQ(c.bond_mode, 4u);
  EXPECT_EQ(c.bond_miimon, 10000u);
  EXPECT_EQ(c.bond_mtu, 68u);
  EXPECT_EQ(c.bond_ports, (std::vector<std::uint32_t>{0x1, 0x6}));
  EXPECT_EQ(c.bond_macs, (std::vector<Mac>{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}));
  EXPECT_EQ(c.tcp_conn_scan_interval, 0u);
  EXPECT_EQ(c.unix_prefix, "a-Z_0.9");
  EXPECT_EQ(c.allow_uids, (std::vector<std::uint32_t>{0, 1000, 4294967294u}));
  EXPECT_EQ(c.allow_gids, std::vector<std::uint32_t>{7});
  EXPECT_EQ(c.instance_tx_pps, 100000000u);
  EXPECT_EQ(c.instance_tx_bps, 100000000000u);
}

TEST_F(LtranConfigTest, BondModesAndSwitchSpellings) {
  EXPECT_EQ(load_ok(std::string(kValid) + "bond_mode = 6;\n").bond_mode, 6u);
  EXPECT_TRUE(load_ok(std::string(kValid) + "kni_switch = true;\n").kni_switch);
  EXPECT_FALSE(load_ok(std::string(kValid) + "kni_switch = 0;\n").kni_switch);
  EXPECT_EQ(load_ok(std::string(kValid) + "instance_tx_bps = 100000000000L;\n").instance_tx_bps, 100000000000u);
}

TEST_F(LtranConfigTest, IncludedFileIsReadAndNamedInMessages) {
  const std::string inc = write("bond_mtu = 9000;\n");
  EXPECT_EQ(error_of("@include \"" + inc + "\"\n"), inc + ":1: bond_mtu = 9000: must be an integer from 68 to 1500");
  const std::string ok = write("bond_mtu = 1400;\ninstance_tx_bps = 5000000000;\n");
  const LtranConfig c = load_ok(std::string(kValid) + "@include \"" + ok + "\"\n");
  EXPECT_EQ(c.bond_mtu, 1400u);
  EXPECT_EQ(c.instance_tx_bps, 5000000000u);
  EXPECT_EQ(c.where("bond_mtu"), ok + ":1: bond_mtu");
  // libconfig reads an included file itself: there a mixed array stays an error, with a hint.
  const std::string mixed = write("allow_uids = [0, \"root\"];\n");
  EXPECT_EQ(error_of("@include \"" + mixed + "\"\n"), mixed + ":1: syntax error: mismatched element type in array "
                                                         "(an array [...] holds one type; mix ids and names in a list: (0, \"www-data\"))");
}

// ---- names for uids and gids -------------------------------------------------

TEST_F(LtranConfigTest, UserAndGroupNamesResolve) {
  if (getpwnam("nobody") == nullptr) GTEST_SKIP() << "no user nobody here";
  const LtranConfig c = load_ok(std::string(kValid) + "allow_uids = [\"root\", \"nobody\", 1000];\nallow_gids = (\"root\", 5);\n");
  EXPECT_EQ(c.allow_uids, (std::vector<std::uint32_t>{0, 65534, 1000}));
  EXPECT_EQ(c.allow_gids, (std::vector<std::uint32_t>{0, 5}));
}

TEST_F(LtranConfigTest, MixedArrayOfIdsAndNamesAsDocumented) {
  // libconfig itself refuses [0, "root"] (arrays are of one type): ltran reads it as a list.
  const LtranConfig c = load_ok(std::string(kValid) + "allow_uids = [0, \"root\", 1000]; # root twice: kept once\n");
  EXPECT_EQ(c.allow_uids, (std::vector<std::uint32_t>{0, 1000}));
}

TEST_F(LtranConfigTest, SingleIdOrNameWithoutBrackets) {
  EXPECT_EQ(load_ok(std::string(kValid) + "allow_uids = \"root\";\n").allow_uids, std::vector<std::uint32_t>{0});
  EXPECT_EQ(load_ok(std::string(kValid) + "allow_gids = 33;\n").allow_gids, std::vector<std::uint32_t>{33});
}

TEST_F(LtranConfigTest, UnknownUserName) {
  EXPECT_EQ(error_of("allow_uids = [0, \"gz-no-such-user\"];\n"),
            "FILE:5: allow_uids = [0, \"gz-no-such-user\"]: no user named \"gz-no-such-user\" on this machine (element 2); "
            "allowed: user ids or names of existing users");
  EXPECT_EQ(error_of("allow_gids = (\"gz-no-such-group\");\n"),
            "FILE:5: allow_gids = (\"gz-no-such-group\"): no group named \"gz-no-such-group\" on this machine (element 1); "
            "allowed: group ids or names of existing groups");
}

TEST_F(LtranConfigTest, QuotedNumberIsANameAndGetsAHint) {
  if (getpwnam("4242") != nullptr) GTEST_SKIP() << "a user is named 4242 here";
  EXPECT_HAS(error_of("allow_uids = [\"4242\"];\n"), "no user named \"4242\" on this machine (element 1); write ids without quotes");
}

TEST_F(LtranConfigTest, IdsOutOfRangeAreNotTruncated) {
  const std::string allowed = "must list user ids (0 to 4294967294) or user names, like [0, \"www-data\", 1000]";
  // libconfig 1.5 would read 4294967296 as 0: root.
  EXPECT_EQ(error_of("allow_uids = [4294967296];\n"), "FILE:5: allow_uids = [4294967296]: " + allowed + " (element 1)");
  EXPECT_EQ(error_of("allow_uids = [1, 4294967295];\n"), "FILE:5: allow_uids = [1, 4294967295]: " + allowed + " (element 2)");
  EXPECT_EQ(error_of("allow_uids = [-1];\n"), "FILE:5: allow_uids = [-1]: " + allowed + " (element 1)");
  EXPECT_EQ(error_of("allow_uids = [1.5];\n"), "FILE:5: allow_uids = [1.5]: " + allowed + " (element 1)");
  EXPECT_EQ(error_of("allow_gids = 4294967296;\n"),
            "FILE:5: allow_gids = 4294967296: must list group ids (0 to 4294967294) or group names, like [0, \"adm\", 1000]");
  EXPECT_EQ(error_of("allow_uids = { a = 1; };\n"), "FILE:5: allow_uids = { a = 1; }: must be a list of user ids or names, like [0, 1000]");
}

TEST_F(LtranConfigTest, NobodyMayRegister) {
  EXPECT_EQ(error_of("allow_uids = [];\n"),
            "FILE:5: allow_uids: no process could register: allow_uids and allow_gids are both empty; list at least one user or group");
  EXPECT_EQ(load_ok(std::string(kValid) + "allow_uids = [];\nallow_gids = [0];\n").allow_gids, std::vector<std::uint32_t>{0});
}

TEST_F(LtranConfigTest, ClientAllowedByUidOrGid) {
  LtranConfig c;
  c.allow_uids = {0, 1000};
  c.allow_gids = {33};
  EXPECT_TRUE(client_allowed(c, 0, 5));
  EXPECT_TRUE(client_allowed(c, 1000, 1000));
  EXPECT_TRUE(client_allowed(c, 1001, 33));
  EXPECT_FALSE(client_allowed(c, 1001, 1001));
  c.allow_uids.clear();
  EXPECT_FALSE(client_allowed(c, 0, 0));
}

// ---- EAL arguments for a stock DPDK ------------------------------------------

TEST_F(LtranConfigTest, StockDpdkArgumentsLeaveOutMapPerfect) {
  const LtranConfig c = load_ok(kGazelleSample);
  EXPECT_EQ(eal_args_for_stock_dpdk(c),
            (std::vector<std::string>{"-l", "0,1", "--socket-mem", "1024,0,0,0", "--huge-dir", "/mnt/hugepages-ltran", "--proc-type",
                                      "primary", "--legacy-mem", "--syslog", "daemon"}));
  LtranConfig plain;
  plain.forward_kit_args = {"-l", "0", "--map-perfect-not", "--no-pci"};
  EXPECT_EQ(eal_args_for_stock_dpdk(plain), plain.forward_kit_args);
}

TEST_F(LtranConfigTest, ArgumentsSplitAtAnyRunOfBlanks) {
  const LtranConfig c = load_ok(replaced(kValid, "\"-l 0 --proc-type primary\"", "\"  -l 0 \\t --proc-type   primary \""));
  EXPECT_EQ(c.forward_kit_args, (std::vector<std::string>{"-l", "0", "--proc-type", "primary"}));
}

// ---- unreadable files, syntax ------------------------------------------------

TEST_F(LtranConfigTest, MissingFileIsEnoent) {
  auto r = load_ltran_config("/nonexistent/ltran.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().message, "cannot read the ltran config /nonexistent/ltran.conf: No such file or directory");
}

TEST_F(LtranConfigTest, UnreadableFileIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string p = write(kValid);
  chmod(p.c_str(), 0);
  auto r = load_ltran_config(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EACCES);
  EXPECT_EQ(r.error().message, "cannot read the ltran config " + p + ": Permission denied");
}

TEST_F(LtranConfigTest, DirectoryIsEisdir) {
  auto r = load_ltran_config("/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EISDIR);
  EXPECT_EQ(r.error().message, "cannot read the ltran config /tmp: Is a directory");
}

TEST_F(LtranConfigTest, FileTooLargeIsEfbig) {
  EXPECT_EQ(error_of(std::string(2u << 20, '#'), kValid, EFBIG), "cannot read the ltran config FILE: File too large");
}

TEST_F(LtranConfigTest, NulByteIsRefused) {
  EXPECT_EQ(error_of(std::string("bond_mtu = 1500;\0\n", 18)), "FILE:5: a NUL byte: ltran.conf must be text");
}

TEST_F(LtranConfigTest, SyntaxErrorNamesFileAndLineAndLibconfigsText) {
  EXPECT_EQ(error_of("bond_mtu = ;\n"), "FILE:5: syntax error: syntax error (libconfig syntax: key = value; strings in double quotes)");
  EXPECT_HAS(error_of("\n\nbond_mode 1;\n"), "FILE:7: syntax error: ");
}

// ---- keys ----------------------------------------------------------------------

TEST_F(LtranConfigTest, UnknownKeySuggestsTheNearestKey) {
  EXPECT_EQ(error_of("bond_mdoe = 1;\n"), "FILE:5: unknown key 'bond_mdoe' (did you mean 'bond_mode'?); allowed keys: " + kAllowedKeys);
  EXPECT_EQ(error_of("allow_uid = [0];\n"), "FILE:5: unknown key 'allow_uid' (did you mean 'allow_uids'?); allowed keys: " + kAllowedKeys);
}

TEST_F(LtranConfigTest, UnknownKeyFarFromAllListsAllowedKeys) {
  EXPECT_EQ(error_of("zzzzzzzzzz = 1;\n"), "FILE:5: unknown key 'zzzzzzzzzz'; allowed keys: " + kAllowedKeys);
}

TEST_F(LtranConfigTest, GazelleKeyLtranDoesNotImplement) {
  EXPECT_EQ(error_of("rx_mbuf_pool_size = 10000;\n"),
            "FILE:5: key 'rx_mbuf_pool_size' is a Gazelle setting ltran does not implement; remove it. Allowed keys: " + kAllowedKeys);
}

TEST_F(LtranConfigTest, EachRequiredKeyMissing) {
  const std::string lines[] = {"forward_kit_args = \"-l 0 --proc-type primary\";\n", "dispatch_subnet = \"192.168.1.0\";\n",
                               "bond_ports = \"0x1\";\n", "bond_macs = \"aa:bb:cc:dd:ee:ff\";\n"};
  const std::string keys[] = {"forward_kit_args", "dispatch_subnet", "bond_ports", "bond_macs"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_HAS(error_of("", replaced(kValid, lines[i], "")), "FILE: " + keys[i] + ": required (");
  }
  EXPECT_EQ(error_of("", replaced(kValid, lines[2], "")),
            "FILE: bond_ports: required (the DPDK ports of each bond as masks, like bond_ports = \"0x1\")");
  EXPECT_EQ(error_of("", replaced(kValid, lines[0], "")),
            "FILE: forward_kit_args: required (the EAL arguments of ltran, like forward_kit_args = "
            "\"-l 0,1 --socket-mem 1024 --proc-type primary\")");
}

// ---- one value out of its range --------------------------------------------------

class LtranConfigRangeTest : public LtranConfigTest, public ::testing::WithParamInterface<std::tuple<const char*, const char*>> {};

TEST_P(LtranConfigRangeTest, OutOfRange) {
  EXPECT_EQ(error_of(std::string(std::get<0>(GetParam())) + "\n"), std::string("FILE:5: ") + std::get<1>(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(
    EachKey, LtranConfigRangeTest,
    ::testing::Values(
        std::make_tuple("dispatch_max_clients = 0;", "dispatch_max_clients = 0: must be an integer from 1 to 32"),
        std::make_tuple("dispatch_max_clients = 33;", "dispatch_max_clients = 33: must be an integer from 1 to 32"),
        std::make_tuple("dispatch_max_clients = \"30\";", "dispatch_max_clients = \"30\": must be an integer from 1 to 32"),
        std::make_tuple("dispatch_max_clients = 4294967297;",  // libconfig 1.5 alone would read 1
                        "dispatch_max_clients = 4294967297: must be an integer from 1 to 32"),
        std::make_tuple("dispatch_subnet_length = 0;", "dispatch_subnet_length = 0: must be an integer from 1 to 16"),
        std::make_tuple("dispatch_subnet_length = 17;", "dispatch_subnet_length = 17: must be an integer from 1 to 16"),
        std::make_tuple("bond_mode = 0;", "bond_mode = 0: must be 1 (active-backup), 4 (802.3ad, LACP) or 6 (alb)"),
        std::make_tuple("bond_mode = 2;", "bond_mode = 2: must be 1 (active-backup), 4 (802.3ad, LACP) or 6 (alb)"),
        std::make_tuple("bond_mode = \"1\";", "bond_mode = \"1\": must be 1 (active-backup), 4 (802.3ad, LACP) or 6 (alb)"),
        std::make_tuple("bond_miimon = 0;", "bond_miimon = 0: must be an integer from 1 to 10000"),
        std::make_tuple("bond_miimon = 10001;", "bond_miimon = 10001: must be an integer from 1 to 10000"),
        std::make_tuple("bond_mtu = 67;", "bond_mtu = 67: must be an integer from 68 to 1500"),
        std::make_tuple("bond_mtu = 1501;", "bond_mtu = 1501: must be an integer from 68 to 1500"),
        std::make_tuple("bond_mtu = 1500.0;", "bond_mtu = 1500.0: must be an integer from 68 to 1500"),
        std::make_tuple("tcp_conn_scan_interval = -1;", "tcp_conn_scan_interval = -1: must be an integer from 0 to 86400"),
        std::make_tuple("tcp_conn_scan_interval = 86401;", "tcp_conn_scan_interval = 86401: must be an integer from 0 to 86400"),
        std::make_tuple("instance_tx_pps = -1;", "instance_tx_pps = -1: must be an integer from 0 to 100000000"),
        std::make_tuple("instance_tx_pps = 100000001;", "instance_tx_pps = 100000001: must be an integer from 0 to 100000000"),
        std::make_tuple("instance_tx_bps = 100000000001;",
                        "instance_tx_bps = 100000000001: must be an integer from 0 to 100000000000"),
        std::make_tuple("instance_tx_bps = 99999999999999999999;",
                        "instance_tx_bps = 99999999999999999999: must be an integer from 0 to 100000000000"),
        std::make_tuple("kni_switch = 2;", "kni_switch = 2: must be 0 or 1"),
        std::make_tuple("kni_switch = \"on\";", "kni_switch = \"on\": must be 0 or 1"),
        std::make_tuple("forward_kit = \"xdp\";", "forward_kit = \"xdp\": must be \"dpdk\", the only forwarding kit"),
        std::make_tuple("forward_kit = 1;", "forward_kit = 1: must be \"dpdk\", the only forwarding kit"),
        std::make_tuple("unix_prefix = \"a/b\";",
                        "unix_prefix = \"a/b\": must be at most 32 characters from A-Z, a-z, 0-9, '_', '.' and '-' (\"\" for none)"),
        std::make_tuple("unix_prefix = \"a b\";",
                        "unix_prefix = \"a b\": must be at most 32 characters from A-Z, a-z, 0-9, '_', '.' and '-' (\"\" for none)"),
        std::make_tuple("unix_prefix = \"123456789012345678901234567890123\";",
                        "unix_prefix = \"123456789012345678901234567890123\": must be at most 32 characters from A-Z, a-z, "
                        "0-9, '_', '.' and '-' (\"\" for none)"),
        std::make_tuple("unix_prefix = 8;",
                        "unix_prefix = 8: must be at most 32 characters from A-Z, a-z, 0-9, '_', '.' and '-' (\"\" for none)")));

TEST_F(LtranConfigTest, LongestUnixPrefix) {
  EXPECT_EQ(load_ok(std::string(kValid) + "unix_prefix = \"12345678901234567890123456789012\";\n").unix_prefix.size(), 32u);
}

TEST_F(LtranConfigTest, BadForwardKitArgs) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"-l 0 --proc-type primary\"", "\" \\t \"")),
            "FILE:1: forward_kit_args = \" \\t \": must not be empty: DPDK needs its EAL arguments, like "
            "\"-l 0,1 --socket-mem 1024 --proc-type primary\"");
  EXPECT_EQ(error_of("", replaced(kValid, "\"-l 0 --proc-type primary\"", "[\"-l\", \"0\"]")),
            "FILE:1: forward_kit_args = [\"-l\", \"0\"]: must be a string in double quotes, like "
            "\"-l 0,1 --socket-mem 1024 --proc-type primary\" (one string, arguments separated by blanks)");
}

// ---- dispatch subnet -------------------------------------------------------------

TEST_F(LtranConfigTest, UnparsableSubnet) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"192.168.1.0\"", "\"192.168.1\"")),
            "FILE:2: dispatch_subnet = \"192.168.1\": must be a dotted IPv4 address like \"192.168.1.0\"");
  EXPECT_EQ(error_of("", replaced(kValid, "\"192.168.1.0\"", "3232235776")),
            "FILE:2: dispatch_subnet = 3232235776: must be a dotted IPv4 address like \"192.168.1.0\"");
}

TEST_F(LtranConfigTest, SubnetWithHostBitsSet) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"192.168.1.0\"", "\"192.168.1.1\"")),
            "FILE:2: dispatch_subnet: \"192.168.1.1\" has some of its low 8 bits set: with dispatch_subnet_length = 8 the "
            "subnet is 256 addresses from dispatch_subnet on, so its low 8 bits must be 0, like \"192.168.1.0\"");
  EXPECT_EQ(error_of("dispatch_subnet_length = 5;\n", replaced(kValid, "\"192.168.1.0\"", "\"192.168.1.16\"")),
            "FILE:2: dispatch_subnet: \"192.168.1.16\" has some of its low 5 bits set: with dispatch_subnet_length = 5 the "
            "subnet is 32 addresses from dispatch_subnet on, so its low 5 bits must be 0, like \"192.168.1.0\"");
  const LtranConfig c = load_ok(replaced(kValid, "\"192.168.1.0\"", "\"192.168.1.16\"") + "dispatch_subnet_length = 4;\n");
  EXPECT_EQ(ip(c.dispatch_subnet), "192.168.1.16");
  EXPECT_EQ(load_ok(replaced(kValid, "\"192.168.1.0\"", "\"10.1.0.0\"") + "dispatch_subnet_length = 16;\n").dispatch_subnet_length, 16u);
}

TEST_F(LtranConfigTest, SubnetThatHoldsNoHosts) {
  for (const char* bad : {"0.0.0.0", "127.0.0.0", "224.0.0.0", "255.255.255.0"}) {
    EXPECT_EQ(error_of("", replaced(kValid, "\"192.168.1.0\"", std::string("\"") + bad + "\"")),
              std::string("FILE:2: dispatch_subnet: \"") + bad +
                  "\" is not a subnet of unicast host addresses (not in 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0 and above)");
  }
}

// ---- bonds -----------------------------------------------------------------------

const std::string kPortsAllowed =
    "must be a port mask per bond, comma-separated, like \"0x1\" or \"0x1,0x2\": at most 2 bonds, each mask 0x1 to 0xff "
    "(0x1 is the first DPDK port)";
const std::string kMacsAllowed =
    "must be the MAC of each bond, comma-separated, like \"aa:bb:cc:dd:ee:ff\": unicast (first byte even, not all zero), "
    "all different";

TEST_F(LtranConfigTest, BadPortMasks) {
  auto ports = [&](const std::string& v) { return error_of("", replaced(kValid, "\"0x1\"", v)); };
  EXPECT_EQ(ports("\"1\""), "FILE:3: bond_ports = \"1\": " + kPortsAllowed + " ('1' is not)");
  EXPECT_EQ(ports("\"0x0\""), "FILE:3: bond_ports = \"0x0\": " + kPortsAllowed + " ('0x0' is not)");
  EXPECT_EQ(ports("\"0x100\""), "FILE:3: bond_ports = \"0x100\": " + kPortsAllowed + " ('0x100' is not)");
  EXPECT_EQ(ports("\"0xg\""), "FILE:3: bond_ports = \"0xg\": " + kPortsAllowed + " ('0xg' is not)");
  EXPECT_EQ(ports("\"\""), "FILE:3: bond_ports = \"\": " + kPortsAllowed + " ('' is not)");
  EXPECT_EQ(ports("\"0x1,\""), "FILE:3: bond_ports = \"0x1,\": " + kPortsAllowed + " ('' is not)");
  EXPECT_EQ(ports("1"), "FILE:3: bond_ports = 1: " + kPortsAllowed);
  EXPECT_EQ(ports("\"0x1,0x2,0x4\""), "FILE:3: bond_ports = \"0x1,0x2,0x4\": " + kPortsAllowed + " (3 are given)");
}

TEST_F(LtranConfigTest, BondsSharingAPort) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"0x1\"", "\"0x3,0x2\"")),
            "FILE:3: bond_ports = \"0x3,0x2\": " + kPortsAllowed + " (0x3 and 0x2 share port(s) 0x2; a port belongs to one bond)");
}

TEST_F(LtranConfigTest, BadMacs) {
  auto macs = [&](const std::string& v) { return error_of("", replaced(kValid, "\"aa:bb:cc:dd:ee:ff\"", v)); };
  EXPECT_EQ(macs("\"aa:bb:cc:dd:ee\""), "FILE:4: bond_macs = \"aa:bb:cc:dd:ee\": " + kMacsAllowed + " ('aa:bb:cc:dd:ee' is not a MAC)");
  EXPECT_EQ(macs("\"01:00:5e:00:00:01\""), "FILE:4: bond_macs = \"01:00:5e:00:00:01\": " + kMacsAllowed + " (01:00:5e:00:00:01 is not unicast)");
  EXPECT_EQ(macs("\"00:00:00:00:00:00\""), "FILE:4: bond_macs = \"00:00:00:00:00:00\": " + kMacsAllowed + " (00:00:00:00:00:00 is not unicast)");
  EXPECT_EQ(macs("\"aa:bb:cc:dd:ee:ff, AA:BB:CC:DD:EE:FF\""),
            "FILE:4: bond_macs = \"aa:bb:cc:dd:ee:ff, AA:BB:CC:DD:EE:FF\": " + kMacsAllowed + " (AA:BB:CC:DD:EE:FF is given twice)");
  EXPECT_EQ(macs("\"02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03\""),
            "FILE:4: bond_macs = \"02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03\": " + kMacsAllowed + "; at most 2 (one per bond)");
}

TEST_F(LtranConfigTest, LongValuesAreShortenedInMessages) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"aa:bb:cc:dd:ee:ff\"", "\"02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03,xxxxxxxxxx\"")),
            "FILE:4: bond_macs = \"02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03,xx...: " + kMacsAllowed +
                " ('xxxxxxxxxx' is not a MAC)");
}

TEST_F(LtranConfigTest, OneMacPerBond) {
  EXPECT_EQ(error_of("", replaced(kValid, "\"0x1\"", "\"0x1,0x2\"")),
            "FILE:4: bond_macs: 1 MAC(s) for 2 bond(s) in bond_ports: one MAC per bond_ports mask is needed");
  EXPECT_EQ(error_of("", replaced(kValid, "\"aa:bb:cc:dd:ee:ff\"", "\"02:00:00:00:00:01,02:00:00:00:00:02\"")),
            "FILE:4: bond_macs: 2 MAC(s) for 1 bond(s) in bond_ports: one MAC per bond_ports mask is needed");
}

TEST(LtranConfigText, MacText) { EXPECT_EQ(mac_text({0x02, 0, 0xab, 0x10, 0xff, 1}), "02:00:ab:10:ff:01"); }

}  // namespace
}  // namespace gz::ltran
