// gazellectl lstack capture {ip|pid} -w FILE [-f FILTER] [-c COUNT] [-G SECONDS] [-s SNAPLEN] [-u PREFIX]
//
// gazellectl compiles the filter (pcap_compile) and opens the file
// (pcap_dump_open, as the user running it); lstack's capture thread runs the
// filter and appends the frames to that file, so no frame passes through here.
#pragma once

#include <string>
#include <vector>

namespace gz::ctl {

// args: the whole command line after "gazellectl". Returns the exit status:
// 0 done (COUNT reached, SIGINT/SIGTERM, or the process ended the capture),
// 1 the capture could not start, 2 a usage error.
int capture(const std::vector<std::string>& args);

}  // namespace gz::ctl
