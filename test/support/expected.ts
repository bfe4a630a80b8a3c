/** What the shapes pipeline must compute for an item, written out by hand to check the fleet's results. */
export function expectedItem(item: { id: string; text: string; n: number; meta: { tag: string } | null }) {
  const upper = item.text.toUpperCase();
  const words = item.text.split(/\s+/).filter(Boolean).length;
  const shout = `${upper}!`;
  const failed = item.n % 7 === 0;
  return {
    id: item.id,
    upper,
    words,
    combo: { head: upper.slice(0, 3), words },
    shout,
    shout_len: shout.length,
    tagged: `${item.meta?.tag ?? null}#${item.n}`,
    ratio: failed ? null : 1 / item.n,
    ratio_errortype: failed ? 'CellInputError' : null,
  };
}
