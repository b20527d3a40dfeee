#!/usr/bin/env python3
"""The web client in a real browser: headless Chromium (Debian's, driven by Playwright) as two
people chatting through a real `confab serve` on a fresh data dir. Alice on a desktop-sized
window, Bob on a phone-sized one: register, a one-on-one chat with live delivery, typing and
read ticks, a group, an image attachment round trip, a reload, and a server restart that the
client resumes from without losing or doubling a message. Access tokens last 20 seconds, so the
client renews its own as it goes; last, Bob's browser session is ended from another device and
the page signs out.

usage: web_client.py CONFAB_BIN [SCREENSHOT_DIR]
"""
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zlib

from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CONFAB_CHROMIUM", "/usr/bin/chromium")
# Every wait is for something the page must show; this is how long a busy machine may take.
WAIT_MS = 30_000
STARTUP_SECS = 120
PASSWORD = "correct horse battery"
# Short enough that the run outlives several tokens.
TOKEN_TTL_SECS = "20"


class Server:
    """`confab serve` on DATA_DIR, at LISTEN (a free port at first, the same one on restart)."""

    def __init__(self, binary, data_dir, listen="127.0.0.1:0"):
        env = dict(
            os.environ,
            CONFAB_DATA_DIR=data_dir,
            CONFAB_LISTEN=listen,
            CONFAB_TOKEN_TTL_SECS=TOKEN_TTL_SECS,
            RUST_LOG="warn",
        )
        self.log = open(data_dir + ".log", "ab")
        self.process = subprocess.Popen(
            [binary, "serve"], env=env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        killer = threading.Timer(STARTUP_SECS, self.process.kill)
        killer.start()
        line = self.process.stdout.readline()
        killer.cancel()
        match = re.match(r"confab listening on (http://\S+)", line)
        assert match, f"confab serve did not start: {line!r}"
        self.url = match.group(1)
        self.listen = self.url.removeprefix("http://")
        # Keep reading stdout so the pipe never fills.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self):
        self.process.terminate()
        assert self.process.wait(timeout=60) == 0, "confab serve did not stop cleanly on SIGTERM"
        self.log.close()


def api(url, method, path, body=None, token=None):
    request = urllib.request.Request(url + path, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data=data, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def png(width, height, rgb):
    """A real PNG image of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def register(page, username):
    page.fill("#auth-username", username)
    page.fill("#auth-password", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#me")).to_have_text(username)
    expect(page.locator("#connection")).to_have_text("online")


def open_chat(page, name):
    if page.locator("#back").is_visible():
        page.click("#back")
    page.locator(".chat-item", has=page.locator(".chat-name", has_text=re.compile(f"^{re.escape(name)}$"))).click()
    expect(page.locator("#chat-title")).to_have_text(name)


def send(page, text):
    page.fill("#text", text)
    page.press("#text", "Enter")
    expect(page.locator(".message.mine .text", has_text=text)).to_have_count(1)


def stored_session(page):
    return page.evaluate("() => JSON.parse(localStorage.getItem('confab.session'))")


def shown_once(page, text):
    expect(page.locator(".message .text", has_text=re.compile(f"^{re.escape(text)}$"))).to_have_count(1)


def main():
    binary = sys.argv[1]
    screenshots = sys.argv[2] if len(sys.argv) > 2 else None
    expect.set_options(timeout=WAIT_MS)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        server = Server(binary, data_dir)
        errors = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            alice_context = browser.new_context(viewport={"width": 1100, "height": 720})
            bob_context = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
            alice, bob = alice_context.new_page(), bob_context.new_page()
            for page in (alice, bob):
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(server.url + "/")
                expect(page).to_have_title("Confab")

            register(alice, "alice")
            register(bob, "bob")
            first_token = stored_session(alice)["token"]

            # A one-on-one chat: delivered live, typing shown, read ticks.
            alice.fill("#new-chat-user", "bob")
            alice.press("#new-chat-user", "Enter")
            expect(alice.locator("#chat-title")).to_have_text("bob")
            send(alice, "hello bob")
            badge = bob.locator(".chat-item", has_text="alice").locator(".badge")
            expect(badge).to_have_text("1")
            open_chat(bob, "alice")
            shown_once(bob, "hello bob")
            expect(alice.locator(".message.mine .ticks").last).to_have_attribute("data-status", "read")
            bob.locator("#text").press_sequentially("hi al", delay=20)
            expect(alice.locator("#typing")).to_have_text("bob is typing…")
            bob.press("#text", "Enter")
            shown_once(alice, "hi al")
            expect(alice.locator("#typing")).to_have_text("")

            # A group: made in a dialog, joined live by the other.
            alice.click("#new-group")
            alice.fill("#group-name", "Weekend")
            alice.fill("#group-members", "bob")
            alice.get_by_role("button", name="Create").click()
            expect(alice.locator("#chat-title")).to_have_text("# Weekend")
            send(alice, "group hello")
            open_chat(bob, "# Weekend")
            shown_once(bob, "group hello")
            expect(bob.locator(".message.theirs .sender").last).to_have_text("alice")
            send(bob, "count me in")
            shown_once(alice, "count me in")

            # An image: hashed and uploaded by the browser, verified, shown to the other.
            image = png(48, 32, (37, 99, 235))
            open_chat(alice, "bob")
            alice.set_input_files("#attach", files=[{"name": "blue.png", "mimeType": "image/png", "buffer": image}])
            expect(alice.locator("#attachment-chip")).to_contain_text("blue.png")
            send(alice, "a picture")
            open_chat(bob, "alice")
            preview = bob.locator("img.preview[alt='blue.png']")
            expect(preview).to_have_count(1)
            bob.wait_for_function(
                "() => { const i = document.querySelector(\"img.preview[alt='blue.png']\");"
                " return i && i.complete && i.naturalWidth === 48; }",
                timeout=WAIT_MS,
            )
            served = bob.evaluate(
                "async () => { const i = document.querySelector(\"img.preview[alt='blue.png']\");"
                " const bytes = await (await fetch(i.src)).arrayBuffer();"
                " const digest = await crypto.subtle.digest('SHA-256', bytes);"
                " return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join(''); }"
            )
            assert served == hashlib.sha256(image).hexdigest(), "the downloaded image is not the uploaded one"

            if screenshots:
                os.makedirs(screenshots, exist_ok=True)
                alice.screenshot(path=os.path.join(screenshots, "web-client-desktop.png"))
                bob.screenshot(path=os.path.join(screenshots, "web-client-phone.png"))

            # A reload: still signed in, every message once.
            bob.reload()
            expect(bob.locator("#connection")).to_have_text("online")
            open_chat(bob, "alice")
            for text in ("hello bob", "hi al", "a picture"):
                shown_once(bob, text)

            # The server goes away and comes back; what was sent meanwhile arrives once, by the
            # socket resuming from its cursor (or live, if it reconnected first).
            listen = server.listen
            server.stop()
            expect(bob.locator("#connection")).to_have_text(re.compile("offline|connecting"))
            server = Server(binary, data_dir, listen)
            token = api(server.url, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})["token"]
            for n in (1, 2):
                api(server.url, "POST", "/chat/send", {"recipient": "bob", "message": f"while away {n}"}, token)
            for text in ("while away 1", "while away 2"):
                shown_once(bob, text)
                shown_once(alice, text)
            expect(bob.locator("#connection")).to_have_text("online")
            send(bob, "back again")
            shown_once(alice, "back again")
            for text in ("hello bob", "hi al", "a picture"):
                shown_once(bob, text)

            # Tokens expired along the way; the client renewed them and chats on.
            alice.wait_for_function(
                "t => JSON.parse(localStorage.getItem('confab.session')).token !== t", arg=first_token, timeout=WAIT_MS
            )
            send(alice, "after a renewal")
            shown_once(bob, "after a renewal")

            # Alice blocks Bob from their chat: her composer closes, his send is refused; lifted,
            # they chat again.
            open_chat(alice, "bob")
            alice.click("#block-toggle")
            expect(alice.locator("#block-toggle")).to_have_text("Unblock")
            expect(alice.locator("#composer")).to_be_hidden()
            open_chat(bob, "alice")
            bob.fill("#text", "are you there?")
            bob.press("#text", "Enter")
            expect(bob.locator("#chat-error")).to_contain_text("does not accept")
            alice.click("#block-toggle")
            expect(alice.locator("#block-toggle")).to_have_text("Block")
            send(alice, "unblocked")
            shown_once(bob, "unblocked")

            # Alice's devices: this browser and the login above; she signs that one out.
            alice.click("#devices")
            devices = alice.locator("#device-list li")
            expect(devices).to_have_count(2)
            expect(devices.filter(has_text="This device")).to_contain_text("Chrome on Linux")
            alice.get_by_role("button", name=re.compile("^Sign out")).click()
            expect(devices).to_have_count(1)
            alice.locator("#devices-dialog").get_by_role("button", name="Close").click()
            expect(alice.locator("#devices-dialog")).to_be_hidden()

            # Bob ends his browser's session from another device: the page signs out at once.
            browser_session = stored_session(bob)["sessionId"]
            phone = api(server.url, "POST", "/auth/login", {"username": "bob", "password": PASSWORD})["token"]
            api(server.url, "DELETE", f"/auth/sessions/{browser_session}", None, phone)
            expect(bob.locator("#welcome")).to_be_visible()
            expect(bob.locator("#auth-error")).to_contain_text("ended")
            assert bob.evaluate("() => localStorage.getItem('confab.session')") is None

            browser.close()
        server.stop()
        assert not errors, f"errors in the page: {errors}"
    print("web client: two people chatted through confab serve in Chromium")


if __name__ == "__main__":
    main()
