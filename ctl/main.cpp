// gazellectl entry point. The control-socket client arrives with lstack's stats
// (issue 3); until then it reports versions and refuses other commands.
#include <cstdio>
#include <cstring>

#include "gz/version.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::printf("gazellectl: %s\n", gz::stack::version_string().c_str());
    return 0;
  }
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf("usage: gazellectl --version | --help\n");
    return argc < 2 ? 1 : 0;
  }
  std::fprintf(stderr, "gazellectl: unknown or not yet implemented command '%s'\n", argv[1]);
  return 2;
}
