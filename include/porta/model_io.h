/* porta — public API section: model_io (included by porta/porta.h). */
#ifndef PORTA_MODEL_IO_H
#define PORTA_MODEL_IO_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
