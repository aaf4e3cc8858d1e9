// The keys of the tree and the timeline: move the cursor over the rows shown, fold and unfold,
// open the span under the cursor. Indexes are shown rows (rows.js), the cursor a position.

/** `moveCursor(position)` scrolls to it. */
export async function rowKey(event, model, actions, moveCursor) {
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  const rows = model.rows;
  const count = rows.count;
  if (!count) return;
  const at = model.cursor == null ? -1 : rows.indexOf(model.cursor);
  const item = at >= 0 ? rows.item(at) : null;
  const row = item?.row;
  let index = at;
  switch (event.key) {
    case 'ArrowDown': case 'j': index = Math.min(count - 1, at + 1); break;
    case 'ArrowUp': case 'k': index = Math.max(0, at - 1); break;
    case 'Home': index = 0; break;
    case 'End': index = count - 1; break;
    case 'PageDown': index = Math.min(count - 1, at + 15); break;
    case 'PageUp': index = Math.max(0, at - 15); break;
    case 'ArrowLeft':
      event.preventDefault();
      if (item?.fold) return;
      if (row?.descendants && !item.collapsed) actions.toggle(item.position);
      else if (row?.depth) {
        const parent = await rows.parentOf(item.position);
        if (parent != null) moveCursor(parent);
      }
      return;
    case 'ArrowRight':
      if (item?.fold) {
        event.preventDefault();
        actions.openFold(item.position);
        return;
      }
      if (row?.descendants && item.collapsed) {
        event.preventDefault();
        actions.toggle(item.position);
        return;
      }
      if (row?.descendants) index = at + 1;
      break;
    case 'Enter': case ' ':
      event.preventDefault();
      if (item?.fold) actions.openFold(item.position);
      else if (row) actions.select(row.span_id);
      return;
    default:
      return;
  }
  event.preventDefault();
  const target = Math.max(0, index);
  const position = rows.positionAt(target);
  if (position !== model.cursor) moveCursor(position);
}
