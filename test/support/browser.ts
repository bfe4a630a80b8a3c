import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Where screenshots go: local state, not the repository. */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../.tessera/test-output');

/** Headless Chromium (Debian's, or CHROMIUM_PATH), driven by playwright-core; the screenshot folder made. */
export async function launchBrowser(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A full-page screenshot of the page, named, into SCREENSHOTS. */
export const screenshot = (page: { screenshot(o: { path: string; fullPage: boolean }): Promise<unknown> }, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
