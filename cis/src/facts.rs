//! What a scan reads once and every rule shares: parsed configurations,
//! the walk of the filesystems, answers of the running system. Each is
//! read on first use and kept for the rest of the scan, keyed by its type,
//! so this module knows none of them: the modules that parse them say how
//! (by implementing [`Fact`] or [`KeyedFact`]) and depend on this one, never
//! the other way round.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use vpsc_engine::root::Root;

/// Something read from the scanned system once per scan and shared.
pub trait Fact: Any {
    /// Reads it from `root`; `live` says whether the root is the running
    /// system.
    fn read(root: &Root, live: bool) -> Self;
}

/// Something read once per scan for each of several names (a unit's
/// state as `systemctl is-active` reports it).
pub trait KeyedFact: Any {
    /// Reads it for `key` from `root`.
    fn read(root: &Root, key: &str) -> Self;
}

/// What a scan reads once and every rule shares.
pub struct Facts<'r> {
    root: &'r Root,
    live: bool,
    read: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
    keyed: RefCell<HashMap<(TypeId, String), Rc<dyn Any>>>,
}

impl<'r> Facts<'r> {
    /// Facts of `root`; the running kernel is asked only on a live system.
    pub fn new(root: &'r Root) -> Facts<'r> {
        Facts {
            root,
            live: root.is_live(),
            read: RefCell::new(HashMap::new()),
            keyed: RefCell::new(HashMap::new()),
        }
    }

    /// The root scanned.
    pub fn root(&self) -> &'r Root {
        self.root
    }

    /// Whether the root is the running system.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Fact `T`, read on first use.
    pub fn get<T: Fact>(&self) -> Rc<T> {
        let id = TypeId::of::<T>();
        let known = self.read.borrow().get(&id).cloned();
        if let Some(Ok(fact)) = known.map(|k| k.downcast::<T>()) {
            return fact;
        }
        // Read with no borrow held: reading one fact may ask for another.
        let fact = Rc::new(T::read(self.root, self.live));
        self.read.borrow_mut().insert(id, fact.clone());
        fact
    }

    /// Fact `T` of `key`, read on first use.
    pub fn get_for<T: KeyedFact>(&self, key: &str) -> Rc<T> {
        let id = (TypeId::of::<T>(), key.to_owned());
        let known = self.keyed.borrow().get(&id).cloned();
        if let Some(Ok(fact)) = known.map(|k| k.downcast::<T>()) {
            return fact;
        }
        let fact = Rc::new(T::read(self.root, key));
        self.keyed.borrow_mut().insert(id, fact.clone());
        fact
    }
}
