// positions.h — `train positions --config F` (positions.c): each curriculum stage's
// position scheme per rotary pair, and the bias.
#ifndef STRETCH_POSITIONS_H
#define STRETCH_POSITIONS_H

#include "config.h"

int positions_main(const Config *c);

#endif
