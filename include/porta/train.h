/* porta — public API section: train (included by porta/porta.h). */
#ifndef PORTA_TRAIN_H
#define PORTA_TRAIN_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
