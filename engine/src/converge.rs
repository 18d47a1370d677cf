//! Configure and unconfigure a module through the write-ahead journal.
//!
//! Invariant: before any effect touches the system, a `pending` step with
//! the prior state is committed to `state.db`. So after `kill -9` at any
//! point the journal lists everything that may have changed, and the next
//! configure (re-apply, idempotent) or unconfigure (undo, idempotent)
//! converges. Upgrades converge by effect key: steps the new plan no longer
//! has are undone, changed ones re-applied over their original prior
//! state, new ones applied.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::{self, NewEvent};
use crate::breaker::{Breakers, SystemClock};
use crate::checks::{self, CheckResult};
use crate::config::Config;
use crate::effects::{self, Ctx, Prior};
use crate::error::{Error, Result};
use crate::hooks;
use crate::root::Root;
use crate::state::{ModuleState, State, StepRow, StepState};
use vpsc_contract::plan::{Check, Effect, PLAN_DIR, Plan, When};
use vpsc_contract::render::{self, Params};

/// What a configure did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    /// Effect keys applied (new or changed).
    pub applied: Vec<String>,
    /// Effect keys undone (no longer in the plan, or unconfigure).
    pub undone: Vec<String>,
    /// Effect keys already in the desired state.
    pub unchanged: Vec<String>,
}

/// Expands the plan effects that only a capability above the journal
/// can turn into concrete steps on this host (today `cis_remediation`,
/// by the CIS layer), so the journal need not know that capability.
pub trait Expand {
    /// The steps `effect` of `module` stands for here, keyed; `None` when
    /// it is not one this expander handles. `ours` names the stat
    /// overrides the module already registered itself.
    fn expand(
        &self,
        root: &Root,
        effect: &Effect,
        module: &str,
        ours: &BTreeSet<String>,
    ) -> Result<Option<Vec<(String, Effect)>>>;
}

/// The expander for callers whose plans never hold an effect that needs
/// one: such an effect is refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoExpansion;

impl Expand for NoExpansion {
    fn expand(
        &self,
        _root: &Root,
        _effect: &Effect,
        _module: &str,
        _ours: &BTreeSet<String>,
    ) -> Result<Option<Vec<(String, Effect)>>> {
        Ok(None)
    }
}

/// Reads and validates the plan of `module` from the root.
pub fn load_plan(root: &Root, module: &str) -> Result<Plan> {
    vpsc_contract::names::module(module).map_err(|e| Error::Invalid {
        what: e.what,
        hint: "module names are those of the vpsc-mod-* packages without the prefix".into(),
    })?;
    let path = std::path::PathBuf::from(format!("/{PLAN_DIR}/{module}.json"));
    let text = root
        .read_to_string(&path.to_string_lossy())
        .map_err(|source| Error::PlanUnreadable {
            module: module.to_owned(),
            path: path.clone(),
            source,
        })?;
    let invalid = |reason: String| Error::PlanInvalid {
        module: module.to_owned(),
        path: path.clone(),
        reason,
    };
    let plan: Plan = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    plan.validate().map_err(|e| invalid(e.what))?;
    if plan.module != module {
        return Err(invalid(format!("it describes module `{}`", plan.module)));
    }
    Ok(plan)
}

/// The modules whose plans are installed under the root, by name.
pub fn installed_modules(root: &Root) -> Result<Vec<String>> {
    let dir = format!("/{PLAN_DIR}");
    let mut names = Vec::new();
    match root.read_dir_names(&dir) {
        Ok(entries) => {
            for e in entries {
                if let Some(n) = e.strip_suffix(".json") {
                    names.push(n.to_owned());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("list", dir)(e)),
    }
    names.sort();
    Ok(names)
}

/// Parameters of `plan`: module defaults, then the applied profile's
/// overrides, then the host's site files (`/etc/vpsc/site.d`).
pub fn resolve_params(root: &Root, state: &State, plan: &Plan) -> Result<Params> {
    let mut params = plan.parameters.clone();
    for (profile, overrides) in state.profiles()? {
        let all: BTreeMap<String, Params> =
            serde_json::from_str(&overrides).map_err(|e| Error::StateCorrupt {
                what: format!("overrides of profile `{profile}`"),
                reason: e.to_string(),
            })?;
        params = render::merge(&params, all.get(&plan.module));
    }
    crate::site::apply(root, plan, &mut params)?;
    Ok(params)
}

/// What conditions and templates are evaluated against, read once per
/// command: the template environment and the installed modules.
struct Scope<'r> {
    root: &'r Root,
    env: minijinja::Environment<'static>,
    installed: Vec<String>,
    breakers: Breakers<'r>,
}

/// The clock of every real run (tests of the breaker inject their own).
static CLOCK: SystemClock = SystemClock;

impl<'r> Scope<'r> {
    fn new(root: &'r Root, state: &'r State) -> Result<Self> {
        let config = Config::load(root)?;
        Ok(Scope {
            root,
            env: render::environment(),
            installed: installed_modules(root)?,
            breakers: Breakers::new(state, root, config.breaker, config.retry, &CLOCK),
        })
    }

    /// Evaluates a `when` condition of `plan` for this host.
    fn holds(&self, plan: &Plan, when: Option<&str>, params: &Params) -> Result<bool> {
        render::condition(&self.env, when, params, &self.installed).map_err(|source| {
            Error::Template {
                module: plan.module.clone(),
                what: format!("when: {}", when.unwrap_or_default()),
                source,
            }
        })
    }

    /// Runs one check if its condition holds, rendered and re-validated.
    fn check(
        &self,
        plan: &Plan,
        when: Option<&str>,
        check: &Check,
        params: &Params,
    ) -> Result<Option<CheckResult>> {
        if !self.holds(plan, when, params)? {
            return Ok(None);
        }
        let check =
            render::render_check(&self.env, check, params).map_err(|source| Error::Template {
                module: plan.module.clone(),
                what: check.label(),
                source,
            })?;
        check.validate().map_err(|p| Error::Invalid {
            what: format!(
                "check `{}` of module `{}` after rendering: {}",
                check.label(),
                plan.module,
                p.what
            ),
            hint: "fix the parameter values used by this check".into(),
        })?;
        Ok(Some(checks::run(
            self.root,
            &plan.module,
            &check,
            &self.breakers,
        )))
    }

    fn checks(
        &self,
        plan: &Plan,
        list: &[When<Check>],
        params: &Params,
    ) -> Result<Vec<CheckResult>> {
        let mut results = Vec::new();
        for c in list {
            results.extend(self.check(plan, c.when.as_deref(), &c.item, params)?);
        }
        Ok(results)
    }
}

/// The plan's effects whose condition holds, with templates rendered,
/// keyed and re-validated.
fn desired_effects(
    scope: &Scope<'_>,
    state: &State,
    plan: &Plan,
    params: &Params,
    expand: &dyn Expand,
) -> Result<Vec<(String, Effect)>> {
    let env = &scope.env;
    // Stat overrides this module registered itself, so a remediation
    // keeps them rather than taking them for someone else's.
    let ours: BTreeSet<String> = state
        .steps(&plan.module)?
        .into_iter()
        .filter_map(|s| s.key.strip_prefix("statoverride:").map(str::to_owned))
        .collect();
    let mut out = Vec::new();
    for step in &plan.effects {
        if !scope.holds(plan, step.when.as_deref(), params)? {
            continue;
        }
        let e = &step.item;
        // Expanded here, on the system it applies to: which benchmark,
        // which files exist and which modules waive what are facts of
        // the host, not of the build.
        if e.needs_expansion() {
            let effects = expand
                .expand(scope.root, e, &plan.module, &ours)?
                .ok_or_else(|| Error::Invalid {
                    what: format!(
                        "effect `{}` of module `{}` needs a capability this program lacks",
                        e.key(),
                        plan.module
                    ),
                    hint: "configure the module with `vpsc configure`".into(),
                })?;
            out.extend(effects);
            continue;
        }
        out.push(render_one(env, plan, params, e)?);
    }
    Ok(out)
}

/// One effect with its templates rendered, keyed and re-validated.
fn render_one(
    env: &minijinja::Environment<'static>,
    plan: &Plan,
    params: &Params,
    e: &Effect,
) -> Result<(String, Effect)> {
    let rendered = render::render_effect(env, e, params).map_err(|source| Error::Template {
        module: plan.module.clone(),
        what: e.key(),
        source,
    })?;
    rendered.validate().map_err(|p| Error::Invalid {
        what: format!(
            "effect `{}` of module `{}` after rendering: {}",
            e.key(),
            plan.module,
            p.what
        ),
        hint: "fix the parameter values (profile overrides) used by this effect".into(),
    })?;
    Ok((e.key(), rendered))
}

/// Converges `module` to its installed plan, then verifies it.
pub fn configure(root: &Root, state: &State, module: &str, expand: &dyn Expand) -> Result<Report> {
    let plan = load_plan(root, module)?;
    configure_plan(root, state, &plan, expand)
}

/// Converges the journal entry `plan.module` to `plan`, which need not be
/// installed as a file (`vpsc cis remediate` makes its own), then verifies.
pub fn configure_plan(
    root: &Root,
    state: &State,
    plan: &Plan,
    expand: &dyn Expand,
) -> Result<Report> {
    let module = plan.module.as_str();
    let params = resolve_params(root, state, plan)?;
    let scope = Scope::new(root, state)?;
    require(&scope, plan, &params)?;
    let desired = desired_effects(&scope, state, plan, &params, expand)?;
    hooks::run(
        root,
        state,
        hooks::Event::PreConfigure,
        &[
            ("MODULE", module.to_owned()),
            ("VERSION", plan.version.clone()),
        ],
    )?;
    let ctx = Ctx {
        root,
        module,
        breakers: &scope.breakers,
    };
    let mut report = Report::default();

    let existing: BTreeMap<String, StepRow> = state
        .steps(module)?
        .into_iter()
        .map(|s| (s.key.clone(), s))
        .collect();
    let wanted: BTreeSet<&str> = desired.iter().map(|(k, _)| k.as_str()).collect();

    let row = state.module(module)?;
    let settled = row
        .as_ref()
        .is_some_and(|r| r.state == ModuleState::Configured && r.version == plan.version);
    state.set_module(module, &plan.version, ModuleState::Configuring)?;

    // Undo what the new plan no longer has, newest first.
    let mut obsolete: Vec<&StepRow> = existing
        .values()
        .filter(|s| !wanted.contains(s.key.as_str()))
        .collect();
    obsolete.sort_by_key(|s| std::cmp::Reverse(s.seq));
    for step in obsolete {
        undo_step(&ctx, state, step)?;
        report.undone.push(step.key.clone());
    }

    for (key, effect) in &desired {
        // dpkg owns vendor files: there is nothing to journal or undo,
        // only their presence to check.
        if let Effect::VendorFile { .. } = effect {
            effects::apply(&ctx, effect, &Prior::Nothing, None)?;
            report.unchanged.push(key.clone());
            continue;
        }
        let json = serde_json::to_string(effect).expect("effects always serialise");
        match existing.get(key) {
            Some(step)
                if step.state == StepState::Applied
                    && step.desired == json
                    && (settled || still_holds(&ctx, effect)) =>
            {
                report.unchanged.push(key.clone());
            }
            Some(step) => {
                state.repend_step(module, key, &json)?;
                let prior = parse_prior(module, step)?;
                effects::apply(&ctx, effect, &prior, step.backup.as_deref())?;
                applied(&ctx, state, key, effect)?;
                report.applied.push(key.clone());
            }
            None => {
                let (prior, backup) = effects::capture(&ctx, effect)?;
                let prior_json =
                    serde_json::to_string(&prior).expect("prior states always serialise");
                state.insert_step(module, key, &json, &prior_json, backup.as_deref())?;
                tracing::info!(module, step = %key, "applying");
                effects::apply(&ctx, effect, &prior, backup.as_deref())?;
                applied(&ctx, state, key, effect)?;
                report.applied.push(key.clone());
            }
        }
    }
    state.relaxed(|| state.set_module(module, &plan.version, ModuleState::Configured))?;
    if !report.applied.is_empty() || !report.undone.is_empty() {
        reload(root, &plan.reload)?;
    }

    let results = scope.checks(plan, &plan.verify, &params)?;
    let failed: Vec<&CheckResult> = results.iter().filter(|r| r.failed()).collect();
    if !failed.is_empty() {
        for f in &failed {
            tracing::error!(module, check = %f.check, detail = %f.detail, "verify failed");
        }
        return Err(Error::VerifyFailed {
            failed: failed.len(),
            total: results.len(),
            modules: vec![module.to_owned()],
        });
    }
    hooks::run(
        root,
        state,
        hooks::Event::PostModule,
        &[
            ("MODULE", module.to_owned()),
            ("VERSION", plan.version.clone()),
            ("APPLIED", report.applied.len().to_string()),
            ("UNDONE", report.undone.len().to_string()),
        ],
    )?;
    Ok(report)
}

/// A cheap re-check used only when the module row is not settled (resume
/// after a crash): vendor files and managed contents are compared; other
/// kinds are re-applied, which is idempotent.
fn still_holds(ctx: &Ctx<'_>, effect: &Effect) -> bool {
    match effect {
        Effect::VendorFile { path } => ctx.root.is_file(path),
        _ => effects::content_matches(ctx.root, effect).unwrap_or(false),
    }
}

/// Undoes every journalled step of `module`, newest first, and forgets it.
pub fn unconfigure(root: &Root, state: &State, module: &str) -> Result<Report> {
    vpsc_contract::names::module(module).map_err(|e| Error::Invalid {
        what: e.what,
        hint: "module names are those of the vpsc-mod-* packages without the prefix".into(),
    })?;
    // Undoing never reaches the network: a damaged settings file must not
    // block a removal.
    let config = Config::load(root).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "ignoring the settings file for this removal");
        Config::default()
    });
    let breakers = Breakers::new(state, root, config.breaker, config.retry, &CLOCK);
    let ctx = Ctx {
        root,
        module,
        breakers: &breakers,
    };
    let mut report = Report::default();
    let mut steps = state.steps(module)?;
    let row = state.module(module)?;
    if steps.is_empty() && row.is_none() {
        return Ok(report);
    }
    let version = row.map(|r| r.version).unwrap_or_default();
    state.set_module(module, &version, ModuleState::Unconfiguring)?;
    steps.sort_by_key(|s| std::cmp::Reverse(s.seq));
    for step in &steps {
        undo_step(&ctx, state, step)?;
        report.undone.push(step.key.clone());
    }
    state.relaxed(|| state.delete_module(module))?;
    // The plan is still installed during prerm; after it is gone (postrm,
    // disappear) there is nothing left to tell running services. Off a live
    // system there are no running services, so the plan is not even read.
    let reloaded = match root.is_live().then(|| load_plan(root, module)) {
        Some(Ok(plan)) => reload(root, &plan.reload),
        _ => Ok(()),
    };
    if let Err(e) = reloaded {
        tracing::warn!(module, error = %e, "reload after unconfigure failed; the files are restored");
    }
    Ok(report)
}

/// Undoes one of the runtime's own journals (`vpsc-user 2fa enforce`,
/// `vpsc cis remediate`), then tells running services as [`Plan::own`]
/// says: unlike a module's, these plans are not installed files that
/// [`unconfigure`] could read the reload commands from, and without the
/// reload sshd would go on asking for what the restored files no longer
/// require.
pub fn unconfigure_own(root: &Root, state: &State, journal: &str) -> Result<Report> {
    let report = unconfigure(root, state, journal)?;
    if !report.undone.is_empty() {
        reload(root, &Plan::own(journal, crate::VERSION, Vec::new()).reload)?;
    }
    Ok(report)
}

/// Runs the plan's reload commands on a live system; a chroot or image has
/// no running services to tell.
fn reload(root: &Root, commands: &[Vec<String>]) -> Result<()> {
    if !root.is_live() {
        return Ok(());
    }
    for argv in commands {
        root.run(argv)?;
    }
    Ok(())
}

fn undo_step(ctx: &Ctx<'_>, state: &State, step: &StepRow) -> Result<()> {
    let effect: Effect = serde_json::from_str(&step.desired).map_err(|e| Error::StateCorrupt {
        what: format!("step `{}` of module `{}`", step.key, ctx.module),
        reason: e.to_string(),
    })?;
    let prior = parse_prior(ctx.module, step)?;
    state.set_step_state(ctx.module, &step.key, StepState::Undoing)?;
    tracing::info!(module = ctx.module, step = %step.key, "undoing");
    effects::undo(ctx, &effect, &prior, step.backup.as_deref())?;
    let event = NewEvent {
        actor: audit::actor(ctx.root),
        action: "effect.undo".into(),
        target: format!("{}:{}", ctx.module, step.key),
        result: "ok".into(),
        details: serde_json::json!({ "module": ctx.module, "restored": prior }),
    };
    let recorded = state.relaxed(|| {
        state.atomically(|| {
            state.delete_step(ctx.module, &step.key)?;
            audit::append(state, event)
        })
    })?;
    audit::forward(ctx.root, &recorded);
    Ok(())
}

/// Marks a step applied and records the change in the audit log, in one
/// transaction: a crash leaves both or neither.
fn applied(ctx: &Ctx<'_>, state: &State, key: &str, effect: &Effect) -> Result<()> {
    let event = NewEvent {
        actor: audit::actor(ctx.root),
        action: "effect.apply".into(),
        target: format!("{}:{key}", ctx.module),
        result: "ok".into(),
        details: serde_json::json!({ "module": ctx.module, "effect": effect }),
    };
    let recorded = state.relaxed(|| {
        state.atomically(|| {
            state.set_step_state(ctx.module, key, StepState::Applied)?;
            audit::append(state, event)
        })
    })?;
    audit::forward(ctx.root, &recorded);
    Ok(())
}

fn parse_prior(module: &str, step: &StepRow) -> Result<Prior> {
    serde_json::from_str(&step.prior).map_err(|e| Error::StateCorrupt {
        what: format!("prior state of step `{}` of module `{module}`", step.key),
        reason: e.to_string(),
    })
}

/// Runs the plan's verify checks whose condition holds, with resolved
/// parameters.
pub fn verify_plan(
    root: &Root,
    state: &State,
    plan: &Plan,
    params: &Params,
) -> Result<Vec<CheckResult>> {
    Scope::new(root, state)?.checks(plan, &plan.verify, params)
}

/// Refuses to start when a requirement of the plan does not hold, before
/// anything is journalled or changed.
fn require(scope: &Scope<'_>, plan: &Plan, params: &Params) -> Result<()> {
    for req in &plan.require {
        let result = scope.check(plan, req.when.as_deref(), &req.check, params)?;
        if let Some(failed) = result.filter(|r| r.failed()) {
            let hint = render::render(&scope.env, "hint", &req.hint, params).map_err(|source| {
                Error::Template {
                    module: plan.module.clone(),
                    what: "requirement hint".into(),
                    source,
                }
            })?;
            return Err(Error::RequirementFailed {
                module: plan.module.clone(),
                check: failed.check,
                detail: failed.detail,
                hint: hint.trim().to_owned(),
            });
        }
    }
    Ok(())
}
