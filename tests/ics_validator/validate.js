// Reads one iCalendar file on stdin, checks it with Mozilla's ical.js (Thunderbird's parser) and RFC 5545 /
// RFC 5546 (iTIP) rules, prints what it read as JSON ({ok, errors, method, timezones, events}). Exit 1: invalid.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const raw = Buffer.concat(chunks);
const text = raw.toString("utf8");
const errors = [];

// RFC 5545 3.1: CRLF line ends, lines folded at 75 octets.
const lines = text.split("\r\n");
if (lines.at(-1) !== "") errors.push("the file does not end with CRLF");
lines.forEach((line, n) => {
  if (line.includes("\n") || line.includes("\r")) errors.push(`line ${n + 1}: a bare LF or CR`);
  if (Buffer.byteLength(line, "utf8") > 75) errors.push(`line ${n + 1}: longer than 75 octets`);
});

let result = { ok: false, errors };
try {
  const root = new ICAL.Component(ICAL.parse(text));
  if (root.name !== "vcalendar") errors.push(`root is ${root.name}, not VCALENDAR`);
  if (root.getFirstPropertyValue("version") !== "2.0") errors.push("VERSION is not 2.0");
  if (!root.getFirstPropertyValue("prodid")) errors.push("no PRODID");
  const method = root.getFirstPropertyValue("method");
  const timezones = root.getAllSubcomponents("vtimezone").map((vtz) => {
    const tz = new ICAL.Timezone(vtz);
    ICAL.TimezoneService.register(tz, tz.tzid);
    return tz.tzid;
  });
  const events = root.getAllSubcomponents("vevent").map((vevent) => {
    for (const name of ["uid", "dtstamp", "dtstart"]) {
      if (!vevent.hasProperty(name)) errors.push(`VEVENT without ${name.toUpperCase()}`);
    }
    for (const prop of vevent.getAllProperties()) {
      const tzid = prop.getParameter("tzid");
      if (tzid && !timezones.includes(tzid)) errors.push(`${prop.name}: TZID ${tzid} has no VTIMEZONE`);
    }
    const event = new ICAL.Event(vevent);
    if (event.endDate.compare(event.startDate) <= 0) errors.push(`${event.uid}: DTEND is not after DTSTART`);
    if (method === "REQUEST" || method === "CANCEL") {
      // RFC 5546 3.2.2 / 3.2.5: required in an iTIP request and cancel.
      if (!vevent.hasProperty("organizer")) errors.push(`${method} without ORGANIZER`);
      if (!vevent.hasProperty("attendee")) errors.push(`${method} without ATTENDEE`);
      if (method === "CANCEL" && !vevent.hasProperty("sequence")) errors.push("CANCEL without SEQUENCE");
    }
    return {
      uid: event.uid,
      sequence: event.sequence,
      summary: event.summary,
      description: event.description,
      status: vevent.getFirstPropertyValue("status"),
      categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
      tzid: vevent.getFirstProperty("dtstart").getParameter("tzid") || null,
      start_utc: event.startDate.toUnixTime(),
      end_utc: event.endDate.toUnixTime(),
      organizer: vevent.getFirstPropertyValue("organizer"),
      attendees: vevent.getAllProperties("attendee").map((p) => p.getFirstValue()),
    };
  });
  if (!events.length) errors.push("no VEVENT");
  result = { ok: errors.length === 0, errors, method, timezones, events };
} catch (error) {
  errors.push(`ical.js: ${error.message}`);
}
process.stdout.write(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
