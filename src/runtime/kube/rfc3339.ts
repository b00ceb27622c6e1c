// Kubernetes timestamps from platform milliseconds. Runtime code may not use
// Date (the determinism guard), so the calendar is computed here: Howard
// Hinnant's civil_from_days, exact for the proleptic Gregorian calendar.

/** metav1.Time: seconds, UTC, as `2024-05-01T12:00:00Z` (creationTimestamp). */
export function formatRfc3339(epochMs: number): string {
  const { date, seconds } = split(epochMs);
  return `${date}T${seconds}Z`;
}

/** metav1.MicroTime: microseconds, UTC, as `2024-05-01T12:00:00.123000Z` (a Lease's renewTime). */
export function formatMicroTime(epochMs: number): string {
  const { date, seconds, millisecond } = split(epochMs);
  return `${date}T${seconds}.${pad(millisecond, 3)}000Z`;
}

const RFC3339_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Shape only: what a client sends in renewTime must at least look like a timestamp. */
export function isRfc3339(text: string): boolean {
  return RFC3339_PATTERN.test(text);
}

const MS_PER_DAY = 86_400_000;

function split(epochMs: number): { date: string; seconds: string; millisecond: number } {
  if (!Number.isSafeInteger(Math.floor(epochMs))) throw new RangeError(`not a time: ${epochMs}`);
  const wholeMs = Math.floor(epochMs);
  const days = Math.floor(wholeMs / MS_PER_DAY);
  const msOfDay = wholeMs - days * MS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const secondOfDay = Math.floor(msOfDay / 1000);
  const hour = Math.floor(secondOfDay / 3600);
  const minute = Math.floor((secondOfDay % 3600) / 60);
  const second = secondOfDay % 60;
  return {
    date: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`,
    seconds: `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`,
    millisecond: msOfDay % 1000,
  };
}

/** Days since 1970-01-01 → calendar date (http://howardhinnant.github.io/date_algorithms.html#civil_from_days). */
function civilFromDays(daysSinceEpoch: number): { year: number; month: number; day: number } {
  const z = daysSinceEpoch + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
