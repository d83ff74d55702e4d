// The patient's profile: their details, doctor, caregiver and prescriptions (newest first).
import type { Caregiver, Doctor, Prescription, Profile } from "@patient-auth/client";
import { formatDateTime, h } from "../dom";

export function profileView(profile: Profile): HTMLElement {
  return h(
    "section",
    { class: "profile", "data-testid": "profile" },
    h("h2", {}, "Your profile"),
    details([
      ["Name", profile.name],
      ["Email", profile.email],
      ["Username", profile.username],
      ["Phone", profile.phone],
      ["Date of birth", profile.date_of_birth],
      ["Patient since", formatDateTime(profile.created_at)],
    ]),
    h("div", { class: "columns" }, doctorCard(profile.doctor ?? null), caregiverCard(profile.caregiver ?? null)),
    prescriptionsTable(profile.prescriptions),
  );
}

function doctorCard(doctor: Doctor | null): HTMLElement {
  return h(
    "article",
    { class: "card", "data-testid": "doctor" },
    h("h3", {}, "Doctor"),
    doctor
      ? details([["Name", doctor.name], ["Specialty", doctor.specialty], ["Email", doctor.email], ["Phone", doctor.phone]])
      : h("p", { class: "muted" }, "No doctor assigned yet."),
  );
}

function caregiverCard(caregiver: Caregiver | null): HTMLElement {
  return h(
    "article",
    { class: "card", "data-testid": "caregiver" },
    h("h3", {}, "Caregiver"),
    caregiver
      ? details([
          ["Name", caregiver.name],
          ["Relationship", caregiver.relationship],
          ["Email", caregiver.email],
          ["Phone", caregiver.phone],
        ])
      : h("p", { class: "muted" }, "No caregiver assigned yet."),
  );
}

function prescriptionsTable(prescriptions: Prescription[]): HTMLElement {
  if (prescriptions.length === 0) {
    return h("p", { class: "muted", "data-testid": "prescriptions" }, "No prescriptions.");
  }
  const row = (p: Prescription): HTMLElement =>
    h("tr", {}, ...[p.medication, p.dosage, p.frequency, p.start_date, p.end_date ?? "ongoing", p.notes].map((v) => h("td", {}, v ?? "")));
  const table = h(
    "table",
    { "data-testid": "prescriptions" },
    h("caption", {}, "Prescriptions"),
    h("thead", {}, h("tr", {}, ...["Medication", "Dosage", "Frequency", "From", "Until", "Notes"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...prescriptions.map(row)),
  );
  // A narrow screen scrolls the table, not the page.
  return h("div", { class: "table-scroll" }, table);
}

function details(rows: [string, string | null | undefined][]): HTMLElement {
  return h(
    "dl",
    {},
    ...rows.filter((row): row is [string, string] => Boolean(row[1])).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}
