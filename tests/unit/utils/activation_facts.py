# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Activation facts built the way module activation_info returns them: a
flag store, the PF documents and the prepare runs, at a fixed clock (T0)."""

from __future__ import annotations

T0 = 1795862400            # 2026-11-28 10:40:00 UTC
T_STEP1 = 1795861800       # 2026-11-28 10:30:00 UTC


def flag(enabled=False, requires=()):
    return {"enabled": enabled, "description": "test", "type": "boolean", "default": False,
            "category": "test", "requires": list(requires)}


def store_doc(**overrides):
    flags = {
        "JURISDICTION_ENGINE_ENABLED": flag(),
        "MARKETPLACE_PHASE2_ENABLED": flag(),
        "MARKETPLACE_PHASE3_ENABLED": flag(requires=["MARKETPLACE_PHASE2_ENABLED"]),
        "FOUNDER_BETA_MODE": flag(True),
        "PUBLIC_SOFT_LAUNCH_MODE": flag(),
        "PUBLIC_FULL_LAUNCH_MODE": flag(),
    }
    for name, enabled in overrides.items():
        flags[name]["enabled"] = enabled
    return {"version": "1.0.0", "updated": "2026-01-01T00:00:00Z", "feature_flags": flags, "access_modes": {}}


def pf_docs():
    return {
        "marketplace-phase3.yaml": {
            "marketplace": {
                "phase": 3, "enabled": False, "trading": False,
                "trading_features": {"peer_to_peer": {"enabled": False}, "fixed_price_listings": {"enabled": False},
                                     "auction_system": {"enabled": False}},
                "progressive_access": {
                    "founders": {"enabled": False, "daily_transaction_limit": 10000},
                    "creators": {"enabled": False, "daily_transaction_limit": 5000},
                    "public": {"enabled": False, "daily_transaction_limit": 1000, "kyc_level": "basic"}}},
            "controls": {"wallet_limits": {"enabled": True}}},
        "global-launch.yaml": {
            "launch_gates": {"required_validations": [{"name": "infrastructure_capacity", "status": "passed"},
                                                      {"name": "security_audit", "status": "pending"}]},
            "feature_flags": {"public_signup": False, "founder_mode": True, "soft_launch_mode": False,
                              "full_public_mode": False, "component_visibility": {"signup_form": False}},
            "visibility_control": {"seo_enabled": False},
            "deployment": {"team_approval": "founder_and_technical_lead"}},
        "founder-public-transition.yaml": {
            "transition_phases": {"founder": {"active": True}, "public_soft": {"active": False},
                                  "public_full": {"active": False}},
            "feature_flags": {"transition_control": {"founder_mode": True, "soft_launch_mode": False,
                                                     "full_public_mode": False}}},
        "jurisdiction-engine.yaml": {"jurisdiction_engine": {"regions": {}}},
    }


def prepare_run(completed=T0 - 3600, status="success", precheck="pass", **extra):
    run = {"kind": "deployment", "file": "deployment-20261128T093000Z.log", "run_id": "20261128T093000Z-aaaaaa",
           "playbook": "phase4", "started": T0 - 7200, "completed": completed, "status": status,
           "precheck_status": precheck}
    run.update(extra)
    return run


def facts(store=None, pfs=None, activations=(), runs=None, now=T0):
    return {"now": now, "audit_dir": "/var/log/nexus-cos/phase4-audit",
            "flag_store": {"path": "/opt/nexus-cos/config/feature-flags.json", "document": store or store_doc(),
                           "error": None},
            "pfs": {name: {"document": doc} for name, doc in (pfs or pf_docs()).items()},
            "activations": list(activations), "runs": [prepare_run()] if runs is None else runs}


def status_facts():
    """What module activation_info returns the day after marketplace step 1, as `nexusctl status` reads it."""
    def flag(enabled, requires=()):
        return {"enabled": enabled, "requires": list(requires)}
    store = {"version": "1", "updated": "2026-01-01T00:00:00Z", "feature_flags": {
        "MARKETPLACE_PHASE2_ENABLED": flag(True), "MARKETPLACE_PHASE3_ENABLED": flag(True, ["MARKETPLACE_PHASE2_ENABLED"]),
        "FOUNDER_BETA_MODE": flag(True), "PUBLIC_SOFT_LAUNCH_MODE": flag(False), "PUBLIC_FULL_LAUNCH_MODE": flag(False),
        "JURISDICTION_ENGINE_ENABLED": flag(False)}}
    market = {"marketplace": {"enabled": True, "progressive_access": {"founders": {"enabled": True}}}}
    return {"now": T_STEP1 + 86400, "flag_store": {"document": store},
            "pfs": {"marketplace-phase3.yaml": {"document": market}},
            "activations": [{"key": "marketplace_step_1", "applied_at": T_STEP1, "run_id": "r1", "audit_verified": True}],
            "runs": [{"kind": "activation", "playbook": "marketplace", "completed": T_STEP1, "status": "success",
                      "run_id": "r1"}],
            "lock": {"holder": None, "gone_reason": None}}
