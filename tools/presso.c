/* presso command-line interface: argument parsing over the library. */
#include <stdio.h>

#include "presso.h"

int main(int argc, char **argv) {
    (void)argv;
    if (argc < 2) {
        fprintf(stderr, "usage: presso COMMAND ...\n");
        return 2;
    }
    return 2;
}
