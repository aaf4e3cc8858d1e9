// The retention setting as the settings page reads and writes it (pure, for the unit tests).

/** "forever" or "30 days" / "1 day". */
export function retentionLabel(days) {
  if (days === null || days === undefined) return 'forever';
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

/**
 * The PUT body for the form's choice: `{body}` or `{error}`. A typed number goes to the server
 * as it is (0, 100001, 1.5 included): the server's message says what range it takes. Only text
 * that is no number at all is stopped here, since JSON could not carry it.
 */
export function retentionBody(forever, text) {
  if (forever) return { body: { days: null } };
  const value = String(text ?? '').trim();
  if (value === '') return { error: 'Enter a number of days, or choose to keep runs forever.' };
  const days = Number(value);
  if (!Number.isFinite(days)) return { error: `“${value}” is not a number of days.` };
  return { body: { days } };
}
