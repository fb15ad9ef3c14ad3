"""Names vulture (tests/test_dead_code.py) cannot see used: each is used, and says how.

Kept explicit and small: a name lands here only when a library, a protocol or a
string reference uses it. Code that nothing uses is deleted instead.
"""
# pylint: skip-file
# flake8: noqa
_ = None

# -- set on a library's object, read by the library --------------------------------------------
_.intra_op_num_threads  # onnxruntime.SessionOptions (backends/runtimes/onnx.py)
_.qconfig  # torch.ao.quantization reads module.qconfig (backends/runtimes/quantized.py)
_.allow_tf32  # torch.backends.cuda.matmul / cudnn flags (backends/torch.py)
_.external_attr  # zipfile.ZipInfo: file mode bits in the archive (cache/npz.py)
_.required  # argparse sub-parsers: a subcommand is required (cli/main.py, commands/*)
_.optimizations, _.representative_dataset  # tf.lite.TFLiteConverter settings (backends/runtimes/litert.py)
_.supported_ops, _.inference_input_type, _.inference_output_type  # the same converter's int8 settings
_.binary_location  # selenium ChromeOptions: which chromium to drive (report/browser.py)
_.benchmark  # torch.backends.cudnn.benchmark = False: no autotuning by timing (backends/torch.py)
_.formatter_class  # argparse reads a parser's formatter_class when it formats help (cli/main.py)

# -- a protocol's method, called by the library -------------------------------------------------
_.get_next  # onnxruntime.quantization.CalibrationDataReader (backends/runtimes/onnx.py)

# -- required by a signature the caller fixes --------------------------------------------------
exc  # __exit__(self, exc_type, exc, tb) (backends/keras/*, sweep/shared.py)
frame  # signal handlers take (signum, frame) (run/signals.py, sweep/executors.py)
worker_id  # DataLoader worker_init_fn(worker_id) (run/children.py)
kwargs  # keras.utils.get_file(fname, origin, *args, **kwargs), patched in tools/gen_registry.py

# -- named in a string ("module:callable") and imported there ----------------------------------
_.TorchVariants  # Library(variants="imagenet_bench.backends.torch_variants:TorchVariants")
_.KerasVariants  # Library(variants="imagenet_bench.backends.keras_variants:KerasVariants")
LIBRARY  # setup.py entry points imagenet_bench.libraries = NAME = module:LIBRARY (each *_plugin.py)
_.check_drift  # Library(verify_checks=(("drift", "imagenet_bench.backends.keras.verify:check_drift"),))
_.efficientnet_lite0  # demo/tests: --model-factory imagenet_bench.backends.torch:efficientnet_lite0

# -- hooks Python and notebooks call ----------------------------------------------------------
__getattr__  # imagenet_bench/__init__.py: the API's names loaded on first use (PEP 562)
__dir__  # imagenet_bench/__init__.py: dir(imagenet_bench) lists the API's names
_.allow_abbrev  # cli/once.py: argparse reads it while parsing (no option taken by a prefix)
_._repr_html_  # api.Results: Jupyter shows the table as HTML
_.to_pandas  # api.Results: the user's DataFrame (docs/python-api.md)

# -- declared data, read by people (docs) or passed as keywords --------------------------------
_.licence  # DatasetSpec: the set's licence (docs/datasets.md)
_.paper  # DatasetSpec: the paper that introduced the set (docs/datasets.md)
_.default_batch_size  # Capabilities(default_batch_size=...): each plugin declares it
_.float_counterpart  # WeightsEntry: a catalog JSON field, shown by `models --format json` (every field)
UNKNOWN  # sweep/shared.py: state 0 of the pixel store (np.zeros), named for the reader
