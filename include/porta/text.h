/* porta — public API section: text (included by porta/porta.h). */
#ifndef PORTA_TEXT_H
#define PORTA_TEXT_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
