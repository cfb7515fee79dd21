// simdnn: everything a program that trains or runs networks with simdnn needs, in one include.
//
//   #include <simdnn/simdnn.h>        // Bazel: deps = ["@simdnn//:simdnn"]
//                                     // CMake: target_link_libraries(app simdnn::simdnn)
//
// Each header below also stands alone; see README.md for what each folder holds.
#pragma once

// core: tensors, threads, instruction sets, kernels, random numbers, initializers.
#include <simdnn/core/activation.h>
#include <simdnn/core/cpu_info.h>
#include <simdnn/core/denormals.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/image.h>
#include <simdnn/core/initializers.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/optimizer_update.h>
#include <simdnn/core/philox.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>

// layers: the Layer interface and the building blocks.
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/conv_residual.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dense_block.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/gradient_chunk_sum.h>
#include <simdnn/layers/layer.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/residual.h>
#include <simdnn/layers/sequential.h>

// models: MLP, ResNet and DenseNet from configurations or JSON specs; Model and inference.
#include <simdnn/models/model.h>
#include <simdnn/models/model_config.h>
#include <simdnn/models/model_spec.h>
#include <simdnn/models/predictor.h>

// train: losses, regularizers, optimizers, schedules, the trainer and its callbacks, saving.
#include <simdnn/train/callbacks.h>
#include <simdnn/train/clipping.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/regularizer.h>
#include <simdnn/train/schedule.h>
#include <simdnn/train/tensor_file.h>
#include <simdnn/train/trainer.h>

// data: readers, synthetic data, preprocessing, augmentation, bundled data sets.
#include <simdnn/data/augment.h>
#include <simdnn/data/datasets.h>
#include <simdnn/data/mnist.h>
#include <simdnn/data/labeled_data.h>
#include <simdnn/data/preprocessing.h>
#include <simdnn/data/readers.h>
#include <simdnn/data/synthetic.h>
