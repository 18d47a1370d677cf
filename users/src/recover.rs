//! Taking back a `vpsc-user create` whose process died (SIGKILL, power
//! loss) before it finished or rolled back: its durable mark is still in
//! the state database. The account did not exist before that create (it
//! refuses existing names), so removing it, its home and its memberships
//! with `userdel --remove`, and its sudoers drop-in, leaves the system as
//! it was before. Every changing `vpsc-user` command does this first.

use super::store;
use super::sudoers;
use super::tx::Tx;
use vpsc_engine::accounts;
use vpsc_engine::error::Result;
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

/// Takes back every interrupted create; returns the names.
pub fn interrupted_creates(root: &Root, state: &State) -> Result<Vec<String>> {
    let mut recovered = Vec::new();
    for name in store::interrupted_creates(state)? {
        if store::user(state, &name)?.is_some() {
            // Its last step ran: the create finished, only the mark is left.
            store::end_create(state, &name)?;
            continue;
        }
        tracing::warn!(user = %name, "taking back an interrupted `vpsc-user create`");
        let mut tx = Tx::new(root, state, "user.create.recover", &name);
        tx.step("account", || {
            let existed = accounts::account(root, &name)?.is_some();
            if existed {
                root.shadow_tool(&["userdel", "--remove", &name])?;
            }
            Ok((serde_json::json!({"removed": existed}), Box::new(|| Ok(()))))
        })?;
        tx.step("sudoers", || {
            sudoers::install(root, &name, None)?;
            sudoers::discard_staged(root, &name)?;
            Ok((serde_json::json!({}), Box::new(|| Ok(()))))
        })?;
        tx.commit();
        store::end_create(state, &name)?;
        recovered.push(name);
    }
    Ok(recovered)
}
