// The screenshot scripts' one helper: a page at desktop (1366 px, the whole
// page) and phone width (390 px; the first screen, or the whole page with
// `{ phoneFull: true }`), written to $SHOTS_DIR (default /tmp/shots) as
// `<name>-desktop.png` and `<name>-phone.png`; the page is left at desktop
// width. `whole` is both widths of the whole page.
import { mkdirSync } from 'node:fs';

export const dir = process.env.SHOTS_DIR || '/tmp/shots';
mkdirSync(dir, { recursive: true });

export async function shoot(page, name, { phoneFull = false } = {}) {
  for (const [suffix, width] of [['desktop', 1366], ['phone', 390]]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${dir}/${name}-${suffix}.png`, fullPage: width > 1000 || phoneFull });
  }
  await page.setViewportSize({ width: 1366, height: 900 });
}

export const whole = (page, name) => shoot(page, name, { phoneFull: true });
