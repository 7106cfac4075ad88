package compiler

/*
#include <stdio.h>
static void gobcc_fflush(void) { fflush(NULL); }
*/
import "C"

func flushStdio() { C.gobcc_fflush() }
