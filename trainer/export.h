// export.h — `train export --from SRC --to DIR --format hf|llama2c` (export.c).
#ifndef STRETCH_EXPORT_H
#define STRETCH_EXPORT_H

int export_main(int argc, char **argv);

#endif
