//! The contract's four tables as the Flask backend made them: each column, what our schema
//! requires of it, and how its value is carried over.

/// What kind of value a column holds, as far as the take-over treats it differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Copied as it is.
    Plain,
    /// An email address: trimmed and lower-cased, as the service stores them.
    Email,
    /// A username: an empty one becomes NULL (no username).
    Username,
    /// A naive timestamp holding UTC: converted to the engine's UTC timestamp.
    Timestamp,
    /// A calendar date.
    Date,
    /// A reference to another table's id: (table, id column).
    Reference(&'static str, &'static str),
}

/// One column of a contract table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name, the same in Flask's schema and ours.
    pub name: &'static str,
    /// How its value is treated.
    pub kind: Kind,
    /// Whether our schema requires a value (timestamps are filled in when missing instead).
    pub required: bool,
}

/// One contract table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// Its primary key, kept as it is so that every reference stays true.
    pub id: &'static str,
    /// Every column, the id first.
    pub columns: &'static [Column],
}

const fn column(name: &'static str, kind: Kind, required: bool) -> Column {
    Column {
        name,
        kind,
        required,
    }
}

use Kind::{Date, Email, Plain, Reference, Timestamp, Username};

/// The four tables, parents before the tables that refer to them.
pub const TABLES: [Table; 4] = [
    Table {
        name: "doctors",
        id: "doctor_id",
        columns: &[
            column("doctor_id", Plain, true),
            column("full_name", Plain, true),
            column("specialty", Plain, false),
            column("email", Plain, false),
            column("phone", Plain, false),
            column("created_at", Timestamp, false),
        ],
    },
    Table {
        name: "caregivers",
        id: "caregiver_id",
        columns: &[
            column("caregiver_id", Plain, true),
            column("full_name", Plain, true),
            column("relationship", Plain, false),
            column("email", Plain, false),
            column("phone", Plain, false),
            column("created_at", Timestamp, false),
        ],
    },
    Table {
        name: "patients",
        id: "patient_id",
        columns: &[
            column("patient_id", Plain, true),
            column("username", Username, false),
            column("full_name", Plain, true),
            column("email", Email, true),
            column("password_hash", Plain, true),
            column("phone", Plain, false),
            column("date_of_birth", Date, false),
            column("doctor_id", Reference("doctors", "doctor_id"), false),
            column(
                "caregiver_id",
                Reference("caregivers", "caregiver_id"),
                false,
            ),
            column("created_at", Timestamp, false),
            column("updated_at", Timestamp, false),
        ],
    },
    Table {
        name: "prescriptions",
        id: "prescription_id",
        columns: &[
            column("prescription_id", Plain, true),
            column("patient_id", Reference("patients", "patient_id"), true),
            column("doctor_id", Reference("doctors", "doctor_id"), false),
            column("medication", Plain, true),
            column("dosage", Plain, false),
            column("frequency", Plain, false),
            column("start_date", Date, true),
            column("end_date", Date, false),
            column("notes", Plain, false),
            column("created_at", Timestamp, false),
        ],
    },
];

/// The tables' names, parents first.
pub fn names() -> [&'static str; 4] {
    TABLES.map(|table| table.name)
}

/// An email as the service compares and stores it.
pub const NORMALISED_EMAIL: &str = "LOWER(LTRIM(RTRIM(email)))";
