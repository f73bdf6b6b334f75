// A real browser for end-to-end tests: Debian's Chromium (CHROMIUM_PATH, else /usr/bin/chromium; .ci/run
// installs it) driven by playwright-core, headless. Screenshots go to build/screenshots/ (CI artifacts);
// with UPDATE_DOCS_SCREENSHOTS=1 the ones a test marks for the README are also written to docs/console/.
import { afterAll } from "bun:test";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const SCREENSHOT_DIR = join(import.meta.dir, "../../build/screenshots");
export const DOCS_SCREENSHOT_DIR = join(import.meta.dir, "../../docs/console");

export interface BrowserSession {
  browser: Browser;
  /** A fresh context (its own cookies), UTC and a fixed viewport so screenshots are stable. */
  newPage(): Promise<{ context: BrowserContext; page: Page; unexpectedDialogs: string[] }>;
  /** Saves the whole page as build/screenshots/<name>.png (and docs/console/<name>.png when asked). */
  screenshot(page: Page, name: string, options?: { docs?: boolean; fullPage?: boolean }): Promise<string>;
}

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  return path;
}

export async function launchBrowser(): Promise<BrowserSession> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  afterAll(() => browser.close());
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    async newPage() {
      const context = await browser.newContext({ viewport: { width: 1200, height: 420 }, timezoneId: "UTC", locale: "en-GB" });
      const page = await context.newPage();
      // Generous: CI machines are slower and busier than a laptop; a wait that succeeds costs nothing extra.
      page.setDefaultTimeout(30_000);
      // The console asks before bulk actions (confirm: accepted). Any other dialog means a page ran script
      // it should not have (an unescaped value): recorded for the test to assert on, and dismissed.
      const unexpectedDialogs: string[] = [];
      page.on("dialog", (dialog) => {
        if (dialog.type() === "confirm") return void dialog.accept();
        unexpectedDialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      return { context, page, unexpectedDialogs };
    },
    async screenshot(page, name, options = {}) {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: options.fullPage ?? true });
      if (options.docs && process.env.UPDATE_DOCS_SCREENSHOTS === "1") {
        mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
        copyFileSync(path, join(DOCS_SCREENSHOT_DIR, `${name}.png`));
      }
      return path;
    },
  };
}
