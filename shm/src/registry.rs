//! The macro that defines a slot registry (counter or gauge ids): stable slots, names, help.
//!
//! Slots are part of the file format: a slot is never renumbered and never reused. A retired
//! metric keeps its variant (renamed `Retired...`) so its slot stays taken.

/// Defines a `#[repr(u8)]` id enum with `ALL`, `slot()`, `from_slot()`, `name()` and `help()`,
/// and checks at compile time that slots strictly increase and fit in `$capacity`.
macro_rules! slot_registry {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident capacity $capacity:expr => {
            $( $variant:ident = $slot:literal, $snake:literal, $help:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        $vis enum $name {
            $(
                #[doc = $help]
                $variant = $slot,
            )+
        }

        impl $name {
            /// Every id, in slot order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The id's fixed slot in its area (never reused).
            #[inline]
            #[must_use]
            pub const fn slot(self) -> usize {
                self as usize
            }

            /// The id stored at `slot`, if any.
            #[must_use]
            pub const fn from_slot(slot: usize) -> Option<Self> {
                let mut i = 0;
                while i < Self::ALL.len() {
                    if Self::ALL[i].slot() == slot {
                        return Some(Self::ALL[i]);
                    }
                    i += 1;
                }
                None
            }

            /// Prometheus-style snake-case name, without the `obi_<area>_` prefix.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $snake,)+
                }
            }

            /// One-line help text for the metric.
            #[must_use]
            pub const fn help(self) -> &'static str {
                match self {
                    $(Self::$variant => $help,)+
                }
            }
        }

        const _: () = {
            let mut i = 0;
            while i < $name::ALL.len() {
                assert!($name::ALL[i].slot() < $capacity, "slot beyond the area's capacity");
                if i > 0 {
                    assert!(
                        $name::ALL[i - 1].slot() < $name::ALL[i].slot(),
                        "slots must strictly increase"
                    );
                }
                i += 1;
            }
        };
    };
}

pub(crate) use slot_registry;
