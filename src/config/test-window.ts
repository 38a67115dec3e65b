/**
 * TEST_WINDOW: the daily window of wall-clock time, in one IANA time zone, inside which the sidecar
 * forwards requests (`23:00-05:00 America/Chicago`): a load test against a billed API agreed to run
 * in a window stays in it. The start is inside, the end is not; a window whose end is before its
 * start crosses midnight. Time zones come from Intl (the ICU data Node ships), so daylight-saving
 * changes follow the zone's rules.
 */
export interface TestWindow {
  /** As the user wrote it (normalized spacing), for messages. */
  readonly text: string;
  /** Minutes after local midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
  readonly timeZone: string;
}

const FORM = /^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s+(\S+)$/;

/** The window, or the rule the text broke (phrased to follow `TEST_WINDOW (--test-window): `). */
export function parseTestWindow(text: string): { ok: true; value: TestWindow } | { ok: false; rule: string } {
  const match = FORM.exec(text.trim());
  if (!match) return { ok: false, rule: 'must be HH:MM-HH:MM and an IANA time zone, e.g. "23:00-05:00 America/Chicago" (24-hour clock)' };
  const [, h1, m1, h2, m2, zone] = match;
  let timeZone: string;
  try {
    timeZone = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return { ok: false, rule: `names an unknown time zone "${zone}" (use an IANA name such as Europe/London or UTC)` };
  }
  const startMinute = Number(h1) * 60 + Number(m1);
  const endMinute = Number(h2) * 60 + Number(m2);
  if (startMinute === endMinute) return { ok: false, rule: 'must end at another time than it starts (leave it unset for no window)' };
  return { ok: true, value: { text: `${h1}:${m1}-${h2}:${m2} ${timeZone}`, startMinute, endMinute, timeZone } };
}

/**
 * Whether epoch-ms `at` falls inside the window, and the minute of day there (for messages). Builds
 * the formatter once per window (windowClock), since Intl formatters are costly to create.
 */
export function windowClock(window: TestWindow): (at: number) => { inside: boolean; localMinute: number } {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: window.timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  return (at) => {
    let hour = 0;
    let minute = 0;
    for (const part of format.formatToParts(at)) {
      if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    const localMinute = hour * 60 + minute;
    const { startMinute: start, endMinute: end } = window;
    const inside = start < end ? localMinute >= start && localMinute < end : localMinute >= start || localMinute < end;
    return { inside, localMinute };
  };
}

export function formatMinute(minuteOfDay: number): string {
  return `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`;
}
