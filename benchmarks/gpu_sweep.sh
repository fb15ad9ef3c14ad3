#!/usr/bin/env bash
# GPU throughput of imagenet-bench, against timm's own evaluation loop, and the 6-model sweep.
#
#   OUT=/path/to/results bash benchmarks/gpu_sweep.sh
#
# Run from the repository root on a machine with a CUDA GPU (the device tool sends at most
# 64 MiB: SRC_COUNT real images of ../shared/imagenet-val-subset are linked N times over into
# a flat folder of official val names, so labels are wrong and accuracy is meaningless here:
# only throughput is measured). Writes under $OUT:
#   env.txt             GPU (nvidia-smi), library versions
#   predict_fp32.txt    imagenet-bench predict, fp32: end-to-end and model-only img/s (timing)
#   predict_amp.txt     the same with --amp fp16
#   timm_loop.txt       timm only: resolve_data_config + create_transform/create_loader, the
#                       loop of timm's validate.py (not in the wheel), fp32 and fp16 autocast
#   sweep_bench.txt     benchmarks/sweep_bench.py: 6 models, shared decode vs 6 predicts
#   summary.txt         the lines above side by side
# Never part of CI.
set -euo pipefail
OUT=${OUT:?set OUT to the results folder}
MODEL=${MODEL:-timm:resnet50.a1_in1k}
N=${N:-5000}                 # images predicted per run (links to the SRC_COUNT real ones)
SRC_COUNT=${SRC_COUNT:-300}
BATCH=${BATCH:-256}
WORKERS=${WORKERS:-8}
DEVICE=${DEVICE:-cuda}
SRC=${SRC:-../shared/imagenet-val-subset}
export PYTHONPATH=$(pwd)${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT"
VAL=$OUT/val
python - "$SRC" "$VAL" "$N" "$SRC_COUNT" <<'PY'
import os, sys
src, val, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files = sorted(f for f in os.listdir(src) if f.endswith(".JPEG"))[:k]
os.makedirs(val, exist_ok=True)
for i in range(n):
    dst = os.path.join(val, f"ILSVRC2012_val_{i + 1:08d}.JPEG")
    if not os.path.lexists(dst):
        os.symlink(os.path.abspath(os.path.join(src, files[i % len(files)])), dst)
print(f"{n} images (links to {len(files)} real ones) in {val}")
PY
{ nvidia-smi 2>&1 || echo "no nvidia-smi"; python -c "
import torch, torchvision, timm, numpy, PIL
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'torchvision', torchvision.__version__,
      'timm', timm.__version__, 'numpy', numpy.__version__, 'pillow', PIL.__version__)
print('device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"; } > "$OUT/env.txt"

timing() {  # the timing provenance of the one cache in folder $1
  python -c "
import sys
from imagenet_bench.cache.store import find_caches
from imagenet_bench.cache.inspect import read_provenance
t = read_provenance(find_caches(sys.argv[1])[0])['timing']
print(f\"{sys.argv[2]}: {t['images']} images, {t['images_per_s']} img/s end to end, {t['model_images_per_s']} img/s model-only, {t['device']}, batch {t['batch_size']}, {t['wall_s']} s\")" "$1" "$2"
}
rm -rf "$OUT/runs_fp32" "$OUT/runs_amp"
python -m imagenet_bench predict "$VAL" -m "$MODEL" --weights none -b "$BATCH" -j "$WORKERS" \
  --device "$DEVICE" -o "$OUT/runs_fp32" --no-progress > /dev/null
timing "$OUT/runs_fp32" "imagenet-bench fp32" | tee "$OUT/predict_fp32.txt"
python -m imagenet_bench predict "$VAL" -m "$MODEL" --weights none -b "$BATCH" -j "$WORKERS" \
  --device "$DEVICE" --amp fp16 -o "$OUT/runs_amp" --no-progress > /dev/null
timing "$OUT/runs_amp" "imagenet-bench amp fp16" | tee "$OUT/predict_amp.txt"

python - "$VAL" "$MODEL" "$BATCH" "$WORKERS" "$DEVICE" <<'PY' | tee "$OUT/timm_loop.txt"
# timm's own loop, as its validate.py: resolve_data_config + create_loader, then model(x)
import sys, time, torch, timm
from timm.data import create_dataset, create_loader, resolve_data_config
val, model_name, batch, workers, device = sys.argv[1], sys.argv[2].split(":", 1)[-1], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
model = timm.create_model(model_name, pretrained=False).eval().to(device)
cfg = resolve_data_config({}, model=model)
ds = create_dataset("", root=val)
for amp in (False, True):
    loader = create_loader(ds, input_size=cfg["input_size"], batch_size=batch, use_prefetcher=device.startswith("cuda"),
                           interpolation=cfg["interpolation"], mean=cfg["mean"], std=cfg["std"],
                           num_workers=workers, crop_pct=cfg["crop_pct"], crop_mode=cfg.get("crop_mode", "center"),
                           pin_memory=device.startswith("cuda"), device=torch.device(device))
    n, t0 = 0, time.perf_counter()
    with torch.inference_mode():
        for x, _ in loader:
            x = x.to(device, non_blocking=True)
            with torch.autocast(device.split(":")[0], dtype=torch.float16, enabled=amp):
                out = model(x)
            out.float().softmax(1).cpu()
            n += x.shape[0]
    dt = time.perf_counter() - t0
    print(f"timm loop {'amp fp16' if amp else 'fp32'}: {n} images, {n / dt:.1f} img/s end to end, {dt:.1f} s")
PY

python benchmarks/sweep_bench.py --rounds 1 --workdir "$OUT/sweep_bench" 2>&1 | tee "$OUT/sweep_bench.txt" || true
cat "$OUT/env.txt" "$OUT/predict_fp32.txt" "$OUT/predict_amp.txt" "$OUT/timm_loop.txt" "$OUT/sweep_bench.txt" > "$OUT/summary.txt"
echo "results in $OUT/summary.txt"
