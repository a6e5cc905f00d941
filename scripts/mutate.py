#!/usr/bin/env python3
"""Mutation check of the simulator's rules (docs/testing.md).

Each mutant is one small change to a rule of the model (models/*.c, and
the replay guest's simulated layout, kvmreplay/kvr_layout.c). For
each, the project is rebuilt in a scratch copy and the CPU-only tests
(ctest -LE qemu) run; a mutant is *killed* when some test fails (one that
no longer builds is stale and counts as a failure of the check). Every
mutant must be killed: a rule whose change no test notices is a rule the
tests do not pin.

usage: scripts/mutate.py [--keep] [--only NAME[,NAME...]] [--list]
Exit status: 0 when every mutant is killed, 1 otherwise, 2 on a setup error.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

# (name, file, original text, mutated text): the original must occur
# exactly once in the file.
MUTANTS = [
    # hybrid switch over QMP lands one pass after the deciding sync
    # (models/mdl_drv_qemu.c, tests/test_mechanisms.c test_switch_one_pass_late)
    ("hybrid-switch-at-sync", "models/mdl_sim.c",
     "if (mdl_switch_due(S->s, &v)) S->switch_decided = 1;",
     "if (mdl_switch_due(S->s, &v)) S->switch_decided = S->start_postcopy = 1;"),
    # a decided switch is taken once the pass after its sync is done
    # (tests/test_mechanisms.c test_switch_after_setup_sync, test_sim)
    ("hybrid-decision-never-taken", "models/mdl_drv_qemu.c",
     "      if (S->switch_decided) S->start_postcopy = 1;", "      ;"),
    # auto-converge (models/mdl_drv_qemu.c, tests/test_features.c)
    ("auto-converge-once", "models/mdl_drv_qemu.c",
     "++S->dirty_rate_high_cnt >= 2", "++S->dirty_rate_high_cnt >= 1"),
    ("auto-converge-counter-kept", "models/mdl_drv_qemu.c",
     "  S->dirty_rate_high_cnt = 0;\n", ""),
    ("auto-converge-threshold-ignored", "models/mdl_drv_qemu.c",
     "uint64_t threshold = xfer_bytes * s->throttle_trigger_threshold / 100;",
     "uint64_t threshold = xfer_bytes * 50 / 100;"),
    ("auto-converge-tailslow-ignored", "models/mdl_drv_qemu.c",
     "if (cpu_now - cpu_ideal < inc) inc = (uint32_t)(cpu_now - cpu_ideal);", ";"),
    ("auto-converge-cap-ignored", "models/mdl_drv_qemu.c",
     "if (pct > s->max_cpu_throttle) pct = s->max_cpu_throttle;", ";"),
    ("throttle-does-not-slow-guest", "models/mdl_drv_qemu.c",
     "mdl__guest_set_speed(S, 1.0 - pct / 100.0);", "mdl__guest_set_speed(S, 1.0);"),
    # xbzrle (models/mdl_drv_qemu.c, tests/test_features.c)
    ("xbzrle-from-first-pass", "models/mdl_drv_qemu.c",
     "if (!S->xbz_page || !S->wrapped || S->pages_remote) return MDL__PAGE_PLAIN;",
     "if (!S->xbz_page || S->pages_remote) return MDL__PAGE_PLAIN;"),
    ("xbzrle-unchanged-pages-sent", "models/mdl_drv_qemu.c",
     "uint64_t encoded = *written & bit ? mdl__xbzrle_encoded(S->write_bytes) : 0;",
     "uint64_t encoded = mdl__xbzrle_encoded(S->write_bytes);"),
    ("xbzrle-framing-uncounted", "models/mdl_drv_qemu.c",
     "r->xbzrle_bytes += 1 + 2 + encoded;", "r->xbzrle_bytes += encoded;"),
    ("xbzrle-no-overflow", "models/mdl_drv_qemu.c",
     "if (encoded > S->s->page_size) {", "if (encoded > 2 * S->s->page_size) {"),
    # the delta's run lengths (ULEB128) left out: 2 bytes a page
    # (tests/test_fidelity.c, xbzrle_bytes on the committed runs)
    ("xbzrle-run-lengths-uncounted", "models/mdl_drv_qemu.c",
     "  return 1 + uleb + changed;", "  return changed;"),
    # post-copy faults on pages in flight (models/mdl_sim.c,
    # tests/test_mechanisms.c test_postcopy_fault_in_flight, test_fidelity)
    ("in-flight-page-arrives-at-once", "models/mdl_sim.c",
     "  S->fault_time = when;\n  mdl__resolve_fault(S, arrival);", "  S->fault_time = when;\n  mdl__resolve_fault(S, when);"),
    ("in-flight-fault-not-requested", "models/mdl_sim.c",
     "  S->r->postcopy_requests++;\n  (void)mdl__rp_send(S, when); /* a request all the same, on the return path */\n"
     "  S->fault_page = page;",
     "  S->fault_page = page;"),
    ("in-flight-landing-dropped-at-send", "models/mdl_sim.c",
     "    mdl__landing_add(S, page, S->link_free + S->latency_ns);\n", ""),
    # multifd and compress (models/mdl_drv_qemu.c, models/mdl_sim.c, tests/test_multifd.c)
    ("multifd-header-small", "models/mdl_sim.c",
     "S->packet_len = 320 + 8 * ((512u << 10) / s->page_size);", "S->packet_len = 64 + 8 * ((512u << 10) / s->page_size);"),
    ("multifd-held-counted-at-handoff", "models/mdl_drv_qemu.c",
     "    S->window_bytes += S->mfd_held[c];\n    S->mfd_held[c] = counted;\n",
     "    S->window_bytes += counted;\n"),
    ("multifd-held-until-window-end", "models/mdl_drv_qemu.c",
     "    S->window_bytes += S->mfd_held[c];\n    S->mfd_held[c] = counted;\n",
     "    S->mfd_held[c] += counted;\n"),
    # a fault served where it lands lets the guest go on at once
    # (tests/test_features.c test_preempt_urgent)
    ("urgent-fault-waits-for-thread", "models/mdl_sim.c",
     "          if (S->blocked) return;\n          goto again;", "          return;"),
    ("workers-ignore-shared-cores", "models/mdl_drv_qemu.c",
     "if (S->p->worker_cpus && cpu_ns > 0) {", "if (0) {"),
    ("workers-share-without-vcpu", "models/mdl_drv_qemu.c",
     "double runnable = 1 + mdl__vcpu_load(S);", "double runnable = 1;"),
    ("workers-share-only-busy-ignored", "models/mdl_drv_qemu.c",
     "if (k != i && S->worker_cpu_end[k] > ready) runnable += 1;", "if (k != i) runnable += 1;"),
    ("vcpu-never-halts", "models/mdl_drv_qemu.c",
     "if (gap >= halt && S->p->vcpu_wake_spin_ns < gap)", "if (0)"),
    ("multifd-channel-cost-generic", "models/mdl_profile.c",
     ".multifd_page_ns = 1100.0,", ".multifd_page_ns = 300.0,"),
    ("worker-cpu-per-thread", "models/mdl_drv_qemu.c",
     "if (cpu_ns > 0) S->r->cpu_workers_ms += cpu_ns / 1e6;",
     "if (cpu_ns > 0) S->r->cpu_workers_ms += cpu_ns / 1e6 / S->workers;"),
    ("compress-at-multifd-zlib-cost", "models/mdl_sim.c",
     ": profile->compress_page_ns[level < 10 ? level : 9];", ": profile->zlib_page_ns[level < 10 ? level : 9];"),
    ("device-save-skipped", "models/mdl_sim.c",
     "    S->t += (double)S->p->device_save_ns;\n", ""),
    ("stopped-guest-stream-at-link-speed", "models/mdl_sim.c",
     "if (S->stopped_bw > 0 && S->link_bw == S->own_link_bw) S->link_bw = S->stopped_bw;", ""),
    ("multifd-own-links-at-link-speed", "models/mdl_drv_qemu.c",
     "double bw = S->channel_bw > 0 ? S->channel_bw : S->link_bw;", "double bw = S->link_bw;"),
    ("multifd-packet-256-pages", "models/mdl_drv_qemu.c",
     "if (S->mfd_normal + S->mfd_zero == (512u << 10) / S->s->page_size) mdl__multifd_send(S);",
     "if (S->mfd_normal + S->mfd_zero == (1024u << 10) / S->s->page_size) mdl__multifd_send(S);"),
    ("multifd-zero-pages-in-packets", "models/mdl_drv_qemu.c",
     "if (!nonzero && !S->p->multifd_zero_in_threads) return MDL__PAGE_PLAIN;", "(void)0;"),
    ("multifd-no-sync-per-step", "models/mdl_drv_qemu.c",
     "if (S->s->multifd && !S->p->multifd_sync_per_round) mdl__multifd_sync(S);", "(void)0;"),
    ("multifd-sync-packets-free", "models/mdl_drv_qemu.c",
     "    mdl__count_ram(S, S->packet_len);\n    S->r->multifd_bytes += S->packet_len;\n", ""),
    ("multifd-counts-compressed-in-7.2", "models/mdl_drv_qemu.c",
     "uint64_t counted = S->packet_len + (S->p->multifd_count_sent ? payload : raw);",
     "uint64_t counted = S->packet_len + payload;"),
    ("multifd-channels-serial", "models/mdl_drv_qemu.c",
     "double ready = mdl__worker_run(S, c, S->worker_free[c] > S->t ? S->worker_free[c] : S->t, cpu_ns);",
     "double ready = mdl__worker_run(S, c, S->wire_free > S->t ? S->wire_free : S->t, cpu_ns);"),
    ("multifd-in-postcopy", "models/mdl_drv_qemu.c",
     "  if (S->workers && !S->pages_remote) {\n    if (S->s->compress", "  if (S->workers) {\n    if (S->s->compress"),
    ("multifd-compression-cpu-free", "models/mdl_drv_qemu.c",
     "double cpu = (double)normal * (S->p->multifd_page_ns + S->comp_ns)", "double cpu = (double)normal * (S->p->multifd_page_ns)"),
    ("compress-first-page-compressed", "models/mdl_drv_qemu.c",
     "    mdl__compress_flush(S);\n    return MDL__PAGE_PLAIN;", "    mdl__compress_flush(S);"),
    ("compress-no-length-field", "models/mdl_drv_qemu.c",
     "S->p->page_header_bytes + 4 + (uint64_t)ceil(", "S->p->page_header_bytes + (uint64_t)ceil("),
    ("compress-one-thread", "models/mdl_drv_qemu.c",
     "for (i = 0; i < S->workers && S->worker_free[i] > S->t; i++) continue;",
     "for (i = 0; i < 1 && S->worker_free[i] > S->t; i++) continue;"),
    ("compress-with-xbzrle-every-pass", "models/mdl_drv_qemu.c",
     "if (S->s->compress && !(S->s->xbzrle && S->wrapped))", "if (S->s->compress)"),
    # the replay guest's page content for compression (kvmreplay/kvr_module.c, tests/test_kvr_content.c)
    ("guest-content-not-in-module", "kvmreplay/kvr_module.c",
     "kvr_put32(h + KVR_MOD_RANDOM_BYTES, random_bytes);", "kvr_put32(h + KVR_MOD_RANDOM_BYTES, 0);"),
    ("guest-content-off-by-a-step", "kvmreplay/kvr_module.c",
     "  uint32_t best = lo;\n", "  uint32_t best = lo + 16;\n"),
    ("guest-content-always", "kvmreplay/kvr_module.c",
     "if ((s->multifd && strcmp(s->multifd_compression, \"none\") != 0) || s->compress) {", "if (1) {"),
    # postcopy-preempt and the faulting vCPU's wake
    ("preempt-ignored", "models/mdl_drv_qemu.c",
     "if (!S->s->postcopy_preempt) return 0;", "return 0;"),
    ("preempt-urgent-ignored", "models/mdl_drv_qemu.c",
     "if (!S->s->postcopy_preempt || !S->p->preempt_urgent || !mdl_is_dirty(&S->mem, S->fault_page)) return;",
     "return;"),
    ("fault-resume-dropped", "models/mdl_sim.c",
     "arrival += S->p->fault_resume_ns; /* the faulting vCPU runs again */", ";"),
    ("fault-resume-busy-dropped", "models/mdl_sim.c",
     "    arrival += S->p->fault_resume_busy_ns * duty;", "    ;"),
    ("fault-resume-busy-unweighted", "models/mdl_sim.c",
     "    arrival += S->p->fault_resume_busy_ns * duty;", "    arrival += S->p->fault_resume_busy_ns;"),
    # a fault landing in a rate-limited window's burst (tests/test_mechanisms.c
    # test_postcopy_fault_in_burst)
    ("fault-burst-always", "models/mdl_sim.c",
     "if (S->p->fault_burst_ns > 0 && mdl__in_burst(S, arrival))", "if (S->p->fault_burst_ns > 0)"),
    ("fault-burst-unlimited-too", "models/mdl_sim.c",
     "  if (S->budget == UINT64_MAX) return 0;\n  for (int k = 0; k < 2; k++)", "  for (int k = 0; k < 2; k++)"),
    ("fault-burst-written-only", "models/mdl_sim.c",
     "  if (x < S->link_free || S->t > x || used >= S->budget) return 0;", "  if (1) return 0;"),
    ("fault-burst-busy-periods-ignored", "models/mdl_sim.c",
     "    if (x >= S->burst_lo[k] && x < S->burst_hi[k]) return 1;", "    ;"),
    ("rp-ack-stream-ignored", "models/mdl_sim.c",
     "    if (sent <= S->rp_last && sent > S->rp_timer) {", "    if (sent > S->rp_timer) {"),
    ("rp-ack-always-delayed", "models/mdl_sim.c",
     "    if (sent <= S->rp_last && sent > S->rp_timer) {", "    if (sent <= S->rp_last) {"),
    ("rp-ack-timer-forgotten", "models/mdl_sim.c",
     "      S->rp_timer = fire;\n", "\n"),
    ("rp-ack-from-the-fault", "models/mdl_sim.c",
     "      double fire = S->rp_last + ack;", "      double fire = when + ack;"),
    ("throttle-kept-after-switch", "models/mdl_sim.c",
     "   * only at the end, but the destination's vCPUs never had it). */\n  mdl__guest_set_speed(S, 1.0);",
     "   * only at the end, but the destination's vCPUs never had it). */"),

    ("threshold-doubled", "models/mdl_sim.c",
     "S->threshold = switch_bw * (double)S->s->downtime_limit_ns / 1e9;",
     "S->threshold = 2 * switch_bw * (double)S->s->downtime_limit_ns / 1e9;"),
    ("step-cap-removed", "models/mdl_drv_qemu.c",
     "if ((i % S->p->step_check_pages) == 0 && S->t - step_start > (double)S->p->max_step_ns) {",
     "if (0 && (i % S->p->step_check_pages) == 0 && S->t - step_start > (double)S->p->max_step_ns) {"),
    ("step-eos-dropped", "models/mdl_drv_qemu.c",
     "mdl__multifd_sync(S);\n  mdl__put(S, S->p->eos_bytes, 0, 1);\n  mdl__flush(S); /* ram_save_iterate",
     "mdl__multifd_sync(S);\n  mdl__flush(S); /* ram_save_iterate"),
    ("sync-cost-zero", "models/mdl_sim.c",
     "return (double)S->p->sync_base_ns + S->p->sync_ns_per_gib * gib;",
     "return 0 * gib;"),
    ("block-name-dropped", "models/mdl_sim.c",
     "if (S->p->block_name_bytes) mdl__put(S, S->p->block_name_bytes, 0, 1);",
     ";"),
    ("kvm-lazy-clear-off", "models/mdl_sim.c",
     "int lazy = S->p->dirty_log == MDL_DIRTY_LOG_KVM && S->chunk_needs_clear;",
     "int lazy = 0;"),
    ("expected-downtime-doubled", "models/mdl_sim.c",
     "S->expected_downtime_ns = (double)S->round.dirty_pages_at_sync * S->s->page_size / switch_bw * 1e9;",
     "S->expected_downtime_ns = 2 * (double)S->round.dirty_pages_at_sync * S->s->page_size / switch_bw * 1e9;"),
    ("word-path-interleave-unchecked", "models/mdl_sim.c",
     "if (guest_can_run && mdl__guest_touches_word(S, w, t_end)) return 0;",
     ";"),
    ("discard-list-free", "models/mdl_sim.c",
     "uint64_t discard = runs * S->p->discard_run_bytes + (runs + 11) / 12 * S->p->discard_header_bytes;",
     "uint64_t discard = 0 * runs;"),
    ("nonconverge-never", "models/mdl_switch.c",
     "(double)v->dirty_pages >= (1.0 - MDL_SWITCH_MIN_SHRINK) * (double)v->prev_dirty_pages;",
     "(double)v->dirty_pages >= 2.0 * (double)v->prev_dirty_pages;"),
    # The rule before docs/postcopy-faults.md: a request wakes the thread
    # and is served at once, budget or not.
    ("request-served-while-rate-limited", "models/mdl_drv_qemu.c",
     "      mdl__yield(S, S->window_start + (double)S->p->window_ns);\n      return;\n    }\n    /* migration_iteration_run.",
     "      double wake = S->window_start + (double)S->p->window_ns;\n"
     "      if (S->pages_remote) {\n"
     "        mdl__guest_advance(S, wake);\n"
     "        if (S->req_pending && S->req_arrival < wake) wake = S->req_arrival;\n"
     "      }\n"
     "      if (!mdl__request_ready(S)) {\n"
     "        mdl__yield(S, wake);\n"
     "        return;\n"
     "      }\n"
     "    }\n    /* migration_iteration_run."),
    ("placement-ignored", "models/mdl_sim.c",
     "if (S->pages_remote) return (double)nz * p->postcopy_place_ns + (double)zero * p->postcopy_place_zero_ns;",
     ";"),
    ("precopy-receiver-free", "models/mdl_sim.c",
     "double ns = (double)nz * p->dest_page_ns + (double)zero * p->dest_zero_page_ns;",
     "double ns = 0 * (double)(nz + zero);"),
    ("socket-unbounded", "models/mdl_sim.c",
     "if (inflight + bytes <= S->p->socket_buffer_bytes) break;",
     "break;"),
    ("zero-pages-not-detected", "models/mdl_sim.c",
     "int nonzero = mdl_is_nonzero(&S->mem, page) || !S->p->detect_zero_pages;",
     "int nonzero = 1;"),
    ("completion-sync-skipped", "models/mdl_sim.c",
     "    S->t += (double)S->p->stop_ns;\n    mdl__sync(S);\n    mdl__drain(S);",
     "    S->t += (double)S->p->stop_ns;\n    mdl__drain(S);"),
    ("rate-budget-doubled", "models/mdl_sim.c",
     "S->budget = (uint64_t)(s->max_bandwidth * (double)profile->window_ns / 1e9);",
     "S->budget = (uint64_t)(2 * s->max_bandwidth * (double)profile->window_ns / 1e9);"),
    ("return-path-wait-dropped", "models/mdl_sim.c",
     "if (S->return_path) end = S->link_free + 2 * S->latency_ns + (double)S->p->dest_load_ns;",
     ";"),
    ("request-latency-dropped", "models/mdl_sim.c",
     "  S->rp_last = send + S->latency_ns + (double)S->p->request_bytes / S->link_bw * 1e9;",
     "  S->rp_last = send + (double)S->p->request_bytes / S->link_bw * 1e9;"),
    ("cursor-restarts-after-request", "models/mdl_sim.c",
     "  if (page + 1 < S->mem.pages) {\n    S->cursor = page + 1;",
     "  if (page + 1 < S->mem.pages) {\n    S->cursor = S->pages_remote ? 0 : page + 1;"),
    ("sync-only-below-threshold-ignored", "models/mdl_drv_qemu.c",
     "if (S->phase == PH_PRECOPY && pending < S->threshold) {",
     "if (S->phase == PH_PRECOPY) {"),
    ("switch-downtime-no-dest-load", "models/mdl_sim.c",
     "double resume = S->link_free + S->latency_ns + (double)S->p->dest_load_ns;",
     "double resume = S->link_free + S->latency_ns;"),
    ("transferred-all-ignored", "models/mdl_sim.c",
     "if (S->p->transferred_all) S->r->transferred_bytes += bytes;",
     ";"),
    # QEMU 10.0 variants (profile keys rate_at_flush, avail_switchover_bandwidth,
    # expected_downtime_frozen; tests/test_mechanisms.c)
    ("rate-at-queue-in-10", "models/mdl_sim.c",
     "  if (!S->p->rate_at_flush) S->window_bytes += bytes;\n",
     "  S->window_bytes += bytes;\n"),
    ("flush-iov-not-counted", "models/mdl_sim.c",
     "    S->q_iov++;\n    S->q_last_buffered = 0;",
     "    S->q_last_buffered = 0;"),
    ("flush-zero-pages-own-entry", "models/mdl_sim.c",
     "    if (!S->q_last_buffered) S->q_iov++;",
     "    S->q_iov++;"),
    ("flush-step-end-dropped", "models/mdl_drv_qemu.c",
     "  mdl__flush(S); /* ram_save_iterate ends with qemu_fflush() */\n", ""),
    ("avail-switchover-bandwidth-ignored", "models/mdl_sim.c",
     "double switch_bw = S->s->avail_switchover_bandwidth > 0 ? S->s->avail_switchover_bandwidth : S->bw_est;",
     "double switch_bw = S->bw_est;"),
    ("avail-switchover-bandwidth-on-7.2", "models/mdl_sim.c",
     "if (s->avail_switchover_bandwidth > 0 && !profile->avail_switchover_bandwidth)",
     "if (0)"),
    ("expected-downtime-updated-in-postcopy-10", "models/mdl_sim.c",
     "int frozen = S->p->expected_downtime_frozen && S->phase == PH_POSTCOPY;",
     "int frozen = 0;"),
    ("expected-downtime-start-0-in-10", "models/mdl_sim.c",
     "if (profile->expected_downtime_frozen) S->expected_downtime_ns = (double)s->downtime_limit_ns;",
     ";"),
    ("estimate-window-halved", "models/mdl_sim.c",
     "if (S->t < S->window_start + (double)S->p->window_ns) return;",
     "if (S->t < S->window_start + (double)S->p->window_ns / 2) return;"),
    ("dest-region-every-send", "models/mdl_sim.c",
     "S->region_loaded[g >> 3] |= (uint8_t)(1u << (g & 7));",
     "(void)g;"),
    ("dest-region-in-postcopy", "models/mdl_sim.c",
     "if (S->pages_remote) return (double)nz * p->postcopy_place_ns + (double)zero * p->postcopy_place_zero_ns;\n"
     "  double ns = (double)nz * p->dest_page_ns + (double)zero * p->dest_zero_page_ns;",
     "double ns = S->pages_remote ? (double)nz * p->postcopy_place_ns + (double)zero * p->postcopy_place_zero_ns\n"
     "                            : (double)nz * p->dest_page_ns + (double)zero * p->dest_zero_page_ns;"),
    # the post-copy switch's discard list: the source's walk and the
    # destination's discards (tests/test_mechanisms.c test_discard_costs)
    ("switch-discard-walk-free", "models/mdl_sim.c",
     "(double)runs * S->p->discard_run_ns,", "0.0,"),
    ("switch-dest-discard-free", "models/mdl_sim.c",
     "(double)runs * S->p->dest_discard_run_ns, 0);", "0.0, 0);"),
    # the switch's package: device state without the VM description
    # (tests/test_fidelity.c test_postcopy_place)
    ("switch-sends-vmdesc", "models/mdl_sim.c",
     "S->p->device_state_bytes - S->p->vmdesc_bytes, 0, 0);", "S->p->device_state_bytes, 0, 0);"),
    # a post-copy zero page costs its own placement, not a normal page's
    # (tests/test_fidelity.c test_postcopy_place)
    ("postcopy-zero-placed-as-normal", "models/mdl_sim.c",
     "(double)nz * p->postcopy_place_ns + (double)zero * p->postcopy_place_zero_ns;",
     "(double)(nz + zero) * p->postcopy_place_ns;"),
    # the replay guest's layout (kvmreplay/kvr_layout.c, tests/test_fidelity.c
    # test_layout_first_pass): SeaBIOS's pages below the top of RAM, and the
    # module where QEMU's multiboot loader puts it, not after the slack
    ("layout-firmware-high-pages-dropped", "kvmreplay/kvr_layout.c",
     "{{4127, 1}, {4122, 26}, {32, 3}}", "{{32, 3}}"),
    ("layout-module-after-slack", "kvmreplay/kvr_layout.c",
     "uint64_t module_first = kernel_last + 2;",
     "uint64_t module_first = kernel_last + 1 + 16;"),  # the harness's old 64 KiB of slack
]


def run(cmd, cwd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.call(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)


def main():
    args = sys.argv[1:]
    if "--help" in args or "-h" in args:
        print(__doc__)
        return 0
    if "--list" in args:
        for m in MUTANTS:
            print(f"{m[0]:36s} {m[1]}")
        return 0
    only = None
    if "--only" in args:
        only = set(args[args.index("--only") + 1].split(","))
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix="migsim-mutate-")
    log = os.path.join(work, "mutate.log")
    files = subprocess.check_output(["git", "ls-files", "-z"], cwd=src).split(b"\0")
    tree = os.path.join(work, "src")
    for f in files:
        if not f:
            continue
        p = f.decode()
        os.makedirs(os.path.dirname(os.path.join(tree, p)) or tree, exist_ok=True)
        if os.path.isfile(os.path.join(src, p)):
            shutil.copy2(os.path.join(src, p), os.path.join(tree, p))
    build = os.path.join(work, "build")
    nproc = str(os.cpu_count() or 2)
    if run(["cmake", "-S", tree, "-B", build, "-DCMAKE_BUILD_TYPE=Release"], work, log) or \
       run(["cmake", "--build", build, "-j" + nproc], work, log):
        print(f"mutate: the unmutated tree does not build (log: {log})", file=sys.stderr)
        return 2
    ctest = ["ctest", "--test-dir", build, "-LE", "qemu", "-j" + nproc, "--timeout", "300", "--stop-on-failure"]
    if run(ctest, work, log):
        print(f"mutate: the unmutated tree fails its CPU-only tests (log: {log})", file=sys.stderr)
        return 2
    survived, killed = [], 0
    todo = [m for m in MUTANTS if not only or m[0] in only]
    # Every mutant's text, checked before the long run: a rule rewritten
    # since the mutant was written stops the check at once, not an hour in.
    texts = {path: open(os.path.join(tree, path)).read() for _, path, _, _ in todo}
    stale = [f"{name} ({texts[path].count(old)} times in {path})"
             for name, path, old, _ in todo if texts[path].count(old) != 1]
    if stale:
        print("mutate: the original text does not occur exactly once: " + ", ".join(stale), file=sys.stderr)
        return 2
    for i, (name, path, old, new) in enumerate(todo, 1):
        target = os.path.join(tree, path)
        text = open(target).read()
        if text.count(old) != 1:
            print(f"mutate: {name}: the original text occurs {text.count(old)} times in {path}", file=sys.stderr)
            return 2
        open(target, "w").write(text.replace(old, new))
        t0 = time.time()
        try:
            if run(["cmake", "--build", build, "-j" + nproc], work, log):
                verdict = "BUILD-FAILED"  # tests nothing: the mutant is stale
            else:
                verdict = "killed" if run(ctest, work, log) else "SURVIVED"
        finally:
            open(target, "w").write(text)
        if verdict in ("SURVIVED", "BUILD-FAILED"):
            survived.append(name)
        else:
            killed += 1
        print(f"[{i:2d}/{len(todo)}] {name:36s} {verdict:12s} {time.time() - t0:5.1f} s", flush=True)
    run(["cmake", "--build", build, "-j" + nproc], work, log)
    print(f"mutants killed: {killed} of {len(todo)}" + (f"; survived or did not build: {', '.join(survived)}" if survived else ""))
    if "--keep" not in args:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"scratch tree kept: {work}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
