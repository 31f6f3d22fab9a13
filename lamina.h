#pragma once
// The umbrella header: #include <lamina/lamina.h> brings in every public part of lamina.
#include <lamina/core/allocator.h>
#include <lamina/core/autograd.h>
#include <lamina/core/device.h>
#include <lamina/core/dtype.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/linalg.h>
#include <lamina/core/parallel.h>
#include <lamina/core/random.h>
#include <lamina/core/reduction.h>
#include <lamina/core/tensor.h>
