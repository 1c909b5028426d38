// gazellectl ltran show [-r [SECONDS] | -b [SECONDS] | -l [SECONDS] | -i] [--json] [-u UNIX_PREFIX]
// gazellectl ltran quit [-u UNIX_PREFIX]
//
// Asks ltran over <run_dir>/<unix_prefix>ltran.sock (gz/wire.hpp, the "ltran"
// section): its totals, their rates, burst sizes and frame lengths, the time
// frames spend inside it, the lstack processes registered with it, or a stop.
// One request per connection, as ltran expects of gazellectl.
#pragma once

#include <string>
#include <vector>

namespace gz::ctl {

// args: the whole command line after "gazellectl" (args[0] == "ltran").
// Returns the exit status: 0 done, 1 ltran did not answer or refused, 2 a
// usage error.
int ltran_command(const std::vector<std::string>& args);

}  // namespace gz::ctl
