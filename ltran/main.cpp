// ltran entry point. The dispatcher itself comes after the lstack issues; until
// then ltran reports its version and refuses to run rather than pretend to.
#include <cstdio>
#include <cstring>

#include "gz/version.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-v") == 0)) {
    std::printf("ltran %s\n", gz::kVersion);
    return 0;
  }
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf("usage: ltran [--config-file FILE] | --version | --help\n");
    return 0;
  }
  std::fprintf(stderr, "ltran: the dispatcher is not implemented yet (see the README's roadmap)\n");
  return 2;
}
