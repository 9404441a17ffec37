package api_test

import "runtime"

var testingProcs = runtime.GOMAXPROCS(0)
