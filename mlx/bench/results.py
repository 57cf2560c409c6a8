"""What the benchmark concludes and prints: the accuracy check across methods, the issue's
targets judged on what was measured, and the text table."""
from __future__ import annotations

from pathlib import Path

from mlx.sweep.plan import CPU_CACHE_BOUND_LANES

MLP_REFERENCE_MS = 224.0  # the engine's MLP before this version (4vrest, Adam, batch 128, 2 cores)


def check_accuracy(result: dict) -> tuple[bool, list[dict]]:
    """(every method agrees on every config, the accuracy rows of every task and model)."""
    rows = [row for sw in result["sweeps"].values() for m in sw["models"].values() for row in m["accuracy"]]
    ok = all(r["agree"] for r in rows)
    ref = result.get("reference")
    if ref:
        ok = ok and ref["agree"]
    return ok, rows


def targets(result: dict) -> dict:
    """The issue's targets, judged on what was measured."""
    t = {}
    main = result["sweeps"][result["main_task"]]
    mods = main["models"]
    ref = result.get("reference")
    if ref:
        t["engine_vs_shared_gather_reference"] = (ref["ratio"], 1.3, "<=")
    e2e = result.get("e2e") or {}
    if "disabled" in e2e:
        t["e2e_disabled_fraction_of_engine"] = (e2e["disabled"]["fraction_of_engine"], 0.6)
    if "wandb_offline" in e2e:
        t["e2e_wandb_offline_vs_floor"] = (e2e["wandb_offline"]["vs_floor"], 1.2, "<=")
    o = result["options"]
    if result["machine"]["backend"] == "cpu":
        if "mlp" in mods and result["main_task"] == "4vrest" and o["hidden"] == 256 and o["batch_size"] == 128:
            t["mlp_ms_per_config_epoch"] = (mods["mlp"]["methods"]["engine"]["seconds_per_config_epoch"] * 1e3,
                                            MLP_REFERENCE_MS, "<=")
        if "logreg" in mods and "torch" in mods["logreg"]["methods"]:
            t["logreg_speedup_vs_torch"] = (mods["logreg"]["methods"]["torch"]["engine_speedup"], 30.0)
        if "torch" in main["overall"]:
            t["overall_speedup_vs_torch"] = (main["overall"]["torch"]["engine_speedup"], 4.0)
        if "mlp" in mods:
            t["mlp_fraction_of_f32_peak"] = (mods["mlp"]["methods"]["engine"]["fraction_of_peak"], 0.6)
    else:
        pts = result.get("scaling", {}).get("models", {}).get("mlp", {}).get("points", [])
        p512 = [p for p in pts if p.get("configs") == 512 and "seconds_per_config_epoch" in p]
        if p512:
            t["mlp_ms_per_config_epoch_at_512"] = (p512[0]["seconds_per_config_epoch"] * 1e3, 1.1, "<=")
    out = {}
    for k, v in t.items():
        val, goal = v[0], v[1]
        le = len(v) > 2
        out[k] = {"value": val, "target": goal, "met": bool(val <= goal if le else val >= goal),
                  "direction": "<=" if le else ">="}
    return out


def table(result: dict) -> str:
    """The text table printed at the end: one block per scenario, then the verdicts."""
    lines = []
    for task, sw in result["sweeps"].items():
        lines += sweep_lines(task, sw)
    lines.append("  (ms/cfg-ep: seconds per config-epoch incl. the test evaluation; cfg/s: configs of "
                 "`epochs` epochs per second; % peak: matmul FLOPs, training counted as 3 x forward, "
                 "over the measured f32 peak; %exec: FLOPs actually executed (no input gradient); "
                 "extrap.: measured on configs x epochs, extrapolated per config-epoch)")
    lines += reference_lines(result.get("reference"))
    lines += e2e_lines(result.get("e2e") or {})
    lines += scaling_lines(result.get("scaling"))
    lines += big_lines(result.get("big"))
    lines += verdict_lines(result)
    return "\n".join(lines)


def sweep_lines(task: str, sw: dict) -> list[str]:
    """A task's sweep: a row per model and method, then the whole sweep per method."""
    lines = [f"sweep {task}: {sw['configs_per_model']} configs per model x {sw['epochs']} epochs "
             f"(n_train {sw['n_train']}; engine = mlx sweep's engine, its own chunk plan)",
             f"  {'model':<7}{'method':<10}{'ms/cfg-ep':>11}{'cfg/s':>9}{'compile s':>10}"
             f"{'speed-up':>10}{'% peak':>8}{'%exec':>7}  measured on"]
    for model, mr in sw["models"].items():
        for name, m in mr["methods"].items():
            comp = m.get("compile_seconds", m.get("warmup_seconds", 0.0))
            sp = f"{m['engine_speedup']:.1f}x" if "engine_speedup" in m else "-"
            if name == "engine":
                how = (f"{m['configs']}x{m['epochs']}, {m['chunks']} program run(s) of "
                       f"{m['shape'][0]}x{m['shape'][1]} lanes" + (" (CPU cache rule)" if m["one_lane_per_program"] else ""))
            else:
                how = f"{m['configs']}x{m['epochs']} extrap."
            lines.append(f"  {model:<7}{name:<10}{m['seconds_per_config_epoch'] * 1e3:>11.2f}"
                         f"{m['configs_per_second']:>9.2f}{comp:>10.2f}{sp:>10}"
                         f"{100 * m['fraction_of_peak']:>8.1f}{100 * m['executed_fraction_of_peak']:>7.1f}  {how}")
    for name, o in sw["overall"].items():
        sp = (f"; engine {o['engine_speedup']:.1f}x faster ({o['engine_speedup_with_compile']:.1f}x "
              "with compile)") if "engine_speedup" in o else ""
        lines.append(f"  whole sweep {name:<9} {o['sweep_seconds']:8.2f} s + compile "
                     f"{o['compile_seconds']:5.1f} s, {o['configs_per_second']:.2f} configs/s{sp}")
    return lines


def reference_lines(ref: dict | None) -> list[str]:
    if not ref:
        return []
    e, r = ref["engine"], ref["reference"]
    return [f"shared-gather reference, logreg {ref['task']} {len(ref['lrs'])} lr x {ref['seeds']} seeds x "
            f"{ref['epochs']} epochs (best of {ref['repeats']}): engine {e['seconds']:.3f} s "
            f"({e['seconds_per_config_epoch'] * 1e3:.2f} ms/cfg-ep), reference {r['seconds']:.3f} s "
            f"({r['seconds_per_config_epoch'] * 1e3:.2f} ms/cfg-ep): engine/reference "
            f"{ref['ratio']:.2f}x; accuracies within {ref['max_accuracy_difference']:.4f}"]


def e2e_lines(e2e: dict) -> list[str]:
    lines = []
    if "disabled" in e2e:
        d, en = e2e["disabled"], e2e["engine"]
        lines.append(f"end to end {Path(e2e['sweep_file']).name}, {d['configs']} configs: engine "
                     f"{en['configs_per_second']:.0f} configs/s ({en['seconds']:.2f} s + compile "
                     f"{en['compile_seconds']:.1f} s); mlx sweep wandb=disabled {d['configs_per_second']:.1f} "
                     f"configs/s ({d['wall_seconds']:.2f} s wall: {d['sweep_json']['train_seconds']:.2f} s "
                     f"training, {d['sweep_json']['compile_seconds']:.2f} s compiling) = "
                     f"{100 * d['fraction_of_engine']:.1f}% of the engine"
                     + (f"; test accuracies of the two differ by at most {en['max_difference_vs_sweep']:.2g}"
                        if en.get("max_difference_vs_sweep") is not None else ""))
    if "wandb_offline" in e2e:
        w, f = e2e["wandb_offline"], e2e["wandb_floor"]
        lines.append(f"end to end with W&B offline, {w['configs']} configs (a run each + the summary run): "
                     f"{w['wall_seconds']:.2f} s ({w['configs_per_second']:.1f} configs/s); W&B floor "
                     f"{f['runs']} bare runs on {f['threads']} threads {f['seconds']:.2f} s "
                     f"({f['runs_per_second']:.1f} runs/s): {w['vs_floor']:.2f}x the floor")
    return lines


def scaling_lines(sc: dict | None) -> list[str]:
    lines = []
    for model, m in (sc or {}).get("models", {}).items():
        pts = [p for p in m["points"] if "seconds_per_config_epoch" in p]
        curve = " ".join(f"{p['configs']}:{p['seconds_per_config_epoch'] * 1e3:.3g}" for p in pts)
        lines.append(f"scaling {model} ({sc['task']}, ms/config-epoch by configs per program): {curve}; "
                     f"mlx sweep picks chunk {m['auto_chunk']}"
                     + (f", capped at {CPU_CACHE_BOUND_LANES} lanes per program (CPU cache rule)"
                        if m["auto_single"] else ""))
        rule = m.get("cpu_rule")
        if rule:
            applies = "applies" if rule["applies"] else "does not apply"
            lines.append(f"  CPU cache rule (at most {CPU_CACHE_BOUND_LANES} lanes per program) for {model}: "
                         f"{applies}; 1 lane {rule['one_lane_ms']:.3g} ms, best {rule['best_batched_ms']:.3g} "
                         f"ms at {rule['best_batched_at']} lanes per program")
    return lines


def big_lines(b: dict | None) -> list[str]:
    if not b:
        return []
    return [f"big: {b['configs']} logreg configs on 0v1 x {b['epochs']} epoch(s): "
            f"{b['configs_per_second']:.0f} configs/s ({b['seconds']:.1f} s + compile "
            f"{b['compile_seconds']:.1f} s, {b['chunks']} chunk(s) of {b['shape'][0]} x {b['shape'][1]} lanes)"]


def verdict_lines(result: dict) -> list[str]:
    """Accuracy agreement, each target met or not, the peak, memory and the load average."""
    ref = result.get("reference")
    spreads = [r["spread"] for r in result["accuracy"]] + ([ref["max_accuracy_difference"]] if ref else [])
    lines = [f"accuracy: {'all methods agree' if result['accuracy_agree'] else 'DISAGREE'} within "
             f"{result['options']['tol']} (largest spread {max(spreads or [0]):.4f})"]
    for k, t in result["targets"].items():
        lines.append(f"target {k}: {t['value']:.3g} (want {t['direction']} {t['target']:g}) "
                     f"{'MET' if t['met'] else 'NOT MET'}")
    if result.get("targets_note"):
        lines.append(f"note: {result['targets_note']}")
    pk = result["peak"]
    lines.append(f"matmul peak {pk['flops_per_second'] / 1e9:.1f} GFLOP/s ({pk['dtype']}, n={pk['n']}); "
                 f"peak memory {result['memory']['bytes'] / 2**20:.0f} MiB ({result['memory']['kind']}); "
                 f"load average {result['load_average']['before']} -> {result['load_average']['after']}")
    return lines
