// Confab's web client: plain modules, no framework. It speaks only the public API: REST for
// accounts, lists, history, sends and attachments; the WebSocket for live frames, resumed from
// the last cursor after a drop or a reload, so nothing is missed and nothing shows twice.

const $ = (id) => document.getElementById(id);
const STORE = "confab.session";
const PAGE = 50;

/** The signed-in user, the chats, and the socket. */
const state = {
  session: null, // {token, refreshToken, sessionId, userId, username, expiresAt, refreshExpiresAt, cursor}
  chats: new Map(), // key -> Chat
  order: [], // keys, newest activity first
  current: null,
  listCursors: { direct: undefined, groups: undefined },
  socket: null,
  reconnectDelay: 1000,
  reconnectTimer: null,
  lastTypingSent: new Map(),
  pendingFile: null,
  blocked: new Set(), // usernames the user blocks
};

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body, retried) {
  const headers = { accept: "application/json" };
  if (state.session) headers.authorization = `Bearer ${state.session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", "Confab cannot be reached; check your connection");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error?.code, data?.error?.message);
    if (response.status === 401 && state.session && !path.startsWith("/auth/")) {
      // An access token that expired is renewed once with the refresh token; an ended session
      // (logged out elsewhere, revoked, a new password) signs out.
      if (error.code !== "session_ended" && !retried && await refreshSession()) return api(method, path, body, true);
      signOut("Your session ended; log in again.");
    }
    throw error;
  }
  return data;
}

// ---------- the session ----------

function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

function saveSession(session) {
  state.session = session;
  localStorage.setItem(STORE, JSON.stringify(session));
}

function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(STORE) || "null");
    if (session && session.refreshToken && session.refreshExpiresAt > Date.now() + 5000) return session;
  } catch { /* a damaged entry is a signed-out browser */ }
  localStorage.removeItem(STORE);
  return null;
}

/** The session's fields from a login or refresh answer. */
function tokensOf(login) {
  const claims = claimsOf(login.token);
  return {
    token: login.token,
    refreshToken: login.refreshToken,
    sessionId: login.sessionId,
    userId: claims.sub,
    username: claims.name,
    issuedAt: Date.now(),
    expiresAt: Date.now() + login.expiresIn * 1000,
    refreshExpiresAt: Date.now() + login.refreshExpiresIn * 1000,
  };
}

/** What the devices list calls this browser: its name and system, from the user agent. */
function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

async function signIn(username, password, register) {
  if (register) await api("POST", "/auth/register", { username, password });
  const login = await api("POST", "/auth/login", { username, password, deviceName: deviceName() });
  saveSession({ ...tokensOf(login), cursor: null });
  await start();
}

/** Exchanges the refresh token for new tokens, once however many callers ask at a time; a
 * refresh token is good for one exchange only (a second one ends the session). */
function refreshSession() {
  if (!state.refreshing) {
    state.refreshing = (async () => {
      const session = state.session;
      if (!session?.refreshToken) return false;
      try {
        const login = await api("POST", "/auth/refresh", { refreshToken: session.refreshToken });
        if (state.session !== session) return false;
        saveSession({ ...session, ...tokensOf(login) });
        scheduleRefresh();
        return true;
      } catch {
        return false;
      }
    })().finally(() => { state.refreshing = null; });
  }
  return state.refreshing;
}

/** Renews the access token a minute before it expires (a fifth of its life, if shorter), so a
 * quiet tab keeps its socket. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  if (!state.session) return;
  const lifetime = state.session.expiresAt - (state.session.issuedAt || Date.now());
  const lead = Math.min(60000, lifetime / 5);
  const wait = Math.max(1000, state.session.expiresAt - Date.now() - lead);
  state.refreshTimer = setTimeout(async () => {
    if (!(await refreshSession()) && state.session) signOut("Your session ended; log in again.");
  }, wait);
}

async function logOut() {
  await api("POST", "/auth/logout").catch(() => {});
  signOut("");
}

function signOut(message) {
  localStorage.removeItem(STORE);
  state.session = null;
  clearTimeout(state.refreshTimer);
  if (state.socket) { state.socket.onclose = null; state.socket.close(1000); state.socket = null; }
  clearTimeout(state.reconnectTimer);
  state.chats.clear();
  state.order = [];
  state.current = null;
  $("app").hidden = true;
  $("welcome").hidden = false;
  $("auth-error").textContent = message || "";
  $("auth-username").focus();
}

function rememberCursor(cursor) {
  if (!cursor || !state.session) return;
  state.session.cursor = cursor;
  localStorage.setItem(STORE, JSON.stringify(state.session));
}

// ---------- chats ----------

function directKey(username) { return `d:${username}`; }
function groupKey(groupId) { return `g:${groupId}`; }

function chatFor(key, init) {
  let chat = state.chats.get(key);
  if (!chat) {
    chat = {
      key, kind: key.startsWith("g:") ? "group" : "direct", to: key.slice(2), title: key.slice(2),
      peerId: null, messages: [], byId: new Map(), olderCursor: undefined, loaded: false,
      unread: 0, lastAt: "", typingTimer: null, role: null,
    };
    state.chats.set(key, chat);
  }
  Object.assign(chat, init || {});
  return chat;
}

function touch(chat, at) {
  if (at && at > chat.lastAt) chat.lastAt = at;
  reorder();
}

/** The list, newest activity first. */
function reorder() {
  state.order = [...state.chats.values()].sort((a, b) => (b.lastAt || "").localeCompare(a.lastAt || "")).map((c) => c.key);
  renderList();
}

async function loadLists(more) {
  const tasks = [];
  if (!more || state.listCursors.direct) {
    const q = state.listCursors.direct && more ? `&before=${encodeURIComponent(state.listCursors.direct)}` : "";
    tasks.push(api("GET", `/chat/messages?limit=${PAGE}${q}`).then((page) => {
      for (const c of page.conversations) {
        const chat = chatFor(directKey(c.peer.username), { title: c.peer.username, peerId: c.peer.userId });
        chat.lastAt = c.lastMessage.timestamp > chat.lastAt ? c.lastMessage.timestamp : chat.lastAt;
        chat.preview = preview(c.lastMessage);
      }
      state.listCursors.direct = page.nextCursor || null;
    }));
  }
  if (!more || state.listCursors.groups) {
    const q = state.listCursors.groups && more ? `&before=${encodeURIComponent(state.listCursors.groups)}` : "";
    tasks.push(api("GET", `/groups?limit=${PAGE}${q}`).then((page) => {
      for (const g of page.groups) {
        const chat = chatFor(groupKey(g.groupId), { title: g.name, role: g.role });
        const at = g.lastMessage ? g.lastMessage.timestamp : g.joinedAt;
        chat.lastAt = at > chat.lastAt ? at : chat.lastAt;
        if (g.lastMessage) chat.preview = preview(g.lastMessage);
      }
      state.listCursors.groups = page.nextCursor || null;
    }));
  }
  await Promise.all(tasks);
  $("more-chats").hidden = !(state.listCursors.direct || state.listCursors.groups);
  reorder();
}

function preview(message) {
  const who = message.senderId === state.session.userId ? "You: " : (message.groupId ? `${message.sender}: ` : "");
  const text = message.content || (message.attachments?.length ? `[file] ${message.attachments[0].fileName}` : "");
  return who + text;
}

function renderList() {
  const list = $("chat-list");
  list.replaceChildren();
  for (const key of state.order) {
    const chat = state.chats.get(key);
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chat-item" + (key === state.current ? " current" : "");
    button.dataset.key = key;
    if (key === state.current) button.setAttribute("aria-current", "true");
    const name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = (chat.kind === "group" ? "# " : "") + chat.title;
    const last = document.createElement("span");
    last.className = "chat-preview";
    last.textContent = chat.preview || "";
    button.append(name, last);
    if (chat.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(chat.unread);
      badge.setAttribute("aria-label", `${chat.unread} unread`);
      button.append(badge);
    }
    button.addEventListener("click", () => openChat(key));
    item.append(button);
    list.append(item);
  }
}

async function openChat(key) {
  const chat = chatFor(key);
  state.current = key;
  chat.unread = 0;
  document.body.classList.add("in-chat");
  $("chat-title").textContent = (chat.kind === "group" ? "# " : "") + chat.title;
  $("chat-subtitle").textContent = "";
  $("composer").hidden = false;
  $("add-member").hidden = chat.kind !== "group" || chat.role !== "admin";
  showBlock(chat);
  $("chat-error").textContent = "";
  $("typing").textContent = chat.typing ? `${chat.typing} is typing…` : "";
  renderList();
  renderMessages(chat);
  if (!chat.loaded) {
    try {
      await loadOlder(chat);
      chat.loaded = true;
    } catch (e) {
      $("chat-error").textContent = e.message;
      return;
    }
  }
  if (chat.kind === "group") describeGroup(chat);
  scrollToEnd();
  markRead(chat);
  $("text").focus();
}

// ---------- blocking and devices ----------

/** The block button of a direct chat, and the composer it closes. */
function showBlock(chat) {
  const direct = chat.kind !== "group" && chat.to !== state.session.username;
  const blocked = direct && state.blocked.has(chat.to);
  $("block-toggle").hidden = !direct;
  $("block-toggle").textContent = blocked ? "Unblock" : "Block";
  $("block-toggle").setAttribute("aria-pressed", String(blocked));
  $("composer").hidden = blocked;
  if (blocked) $("chat-subtitle").textContent = "You blocked this user: neither of you can message the other.";
  else if ($("chat-subtitle").textContent.startsWith("You blocked")) $("chat-subtitle").textContent = "";
}

async function loadBlocked() {
  let after;
  do {
    const page = await api("GET", `/me/blocked?limit=200${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    for (const b of page.blocked) state.blocked.add(b.username);
    after = page.nextCursor;
  } while (after);
}

async function toggleBlock() {
  const chat = state.chats.get(state.current);
  if (!chat || chat.kind === "group") return;
  const blocked = state.blocked.has(chat.to);
  try {
    await api(blocked ? "DELETE" : "PUT", `/me/blocked/${encodeURIComponent(chat.to)}`);
    if (blocked) state.blocked.delete(chat.to); else state.blocked.add(chat.to);
    $("chat-error").textContent = "";
    showBlock(chat);
    if (blocked) $("text").focus(); else $("block-toggle").focus();
  } catch (e) {
    $("chat-error").textContent = e.message;
  }
}

async function showDevices() {
  $("devices-error").textContent = "";
  const list = $("device-list");
  try {
    const { sessions } = await api("GET", "/auth/sessions");
    list.replaceChildren(...sessions.map((s) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = s.deviceName || "Unnamed device";
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = s.current ? "This device" : `Last seen ${new Date(s.lastSeenAt).toLocaleString()}`;
      label.append(when);
      item.append(label);
      if (!s.current) {
        const end = document.createElement("button");
        end.type = "button";
        end.className = "secondary";
        end.textContent = "Sign out";
        end.setAttribute("aria-label", `Sign out ${s.deviceName || "unnamed device"}`);
        end.addEventListener("click", async () => {
          try {
            await api("DELETE", `/auth/sessions/${encodeURIComponent(s.sessionId)}`);
            await showDevices();
          } catch (e) {
            $("devices-error").textContent = e.message;
          }
        });
        item.append(end);
      }
      return item;
    }));
  } catch (e) {
    $("devices-error").textContent = e.message;
  }
  if (!$("devices-dialog").open) $("devices-dialog").showModal();
}

async function describeGroup(chat) {
  try {
    const group = await api("GET", `/groups/${encodeURIComponent(chat.to)}`);
    chat.title = group.name;
    const mine = group.members.find((m) => m.userId === state.session.userId);
    chat.role = mine ? mine.role : null;
    if (state.current === chat.key) {
      $("chat-title").textContent = `# ${group.name}`;
      $("chat-subtitle").textContent = group.members.map((m) => m.username).join(", ");
      $("add-member").hidden = chat.role !== "admin";
    }
  } catch { /* the title stays as the list gave it */ }
}

function historyPath(chat, before) {
  const q = `limit=${PAGE}${before ? `&before=${encodeURIComponent(before)}` : ""}`;
  return chat.kind === "group"
    ? `/groups/${encodeURIComponent(chat.to)}/messages?${q}`
    : `/chat/messages?recipient=${encodeURIComponent(chat.to)}&${q}`;
}

/** One page further back: the first page of a chat, then older ones. */
async function loadOlder(chat) {
  if (chat.olderCursor === null) return;
  const page = await api("GET", historyPath(chat, chat.olderCursor));
  chat.olderCursor = page.nextCursor || null;
  const pane = $("messages-pane");
  const fromBottom = pane.scrollHeight - pane.scrollTop;
  const older = page.messages.filter((m) => !chat.byId.has(m.messageId));
  const sample = page.messages[0];
  if (chat.kind === "direct" && sample && !chat.peerId) {
    chat.peerId = sample.senderId === state.session.userId ? sample.recipientId : sample.senderId;
  }
  for (const m of older) chat.byId.set(m.messageId, m);
  chat.messages = [...older, ...chat.messages];
  if (state.current === chat.key) {
    renderMessages(chat);
    pane.scrollTop = pane.scrollHeight - fromBottom;
  }
}

function addMessage(chat, message) {
  if (chat.byId.has(message.messageId)) return false;
  // The frame of a message this device is still sending takes the pending entry's place.
  if (message.clientMessageId) {
    const pending = chat.messages.find((m) => m.pending && m.clientMessageId === message.clientMessageId);
    if (pending) {
      Object.assign(pending, message, { pending: false, failed: false, status: pending.status === "sending" ? "sent" : pending.status });
      chat.byId.set(message.messageId, pending);
      if (state.current === chat.key) renderMessages(chat);
      return false;
    }
  }
  chat.byId.set(message.messageId, message);
  chat.messages.push(message);
  chat.preview = preview(message);
  touch(chat, message.timestamp);
  if (state.current === chat.key) {
    appendMessage(chat, message);
    scrollToEnd();
  }
  return true;
}

// ---------- rendering messages ----------

function renderMessages(chat) {
  const list = $("messages");
  list.replaceChildren(...chat.messages.map((m) => messageItem(chat, m)));
  $("older").hidden = !chat.loaded || chat.olderCursor === null;
}

function appendMessage(chat, message) {
  $("messages").append(messageItem(chat, message));
  $("older").hidden = chat.olderCursor === null;
}

function messageItem(chat, m) {
  const mine = m.senderId === state.session.userId;
  const item = document.createElement("li");
  item.className = `message ${mine ? "mine" : "theirs"}${m.failed ? " failed" : ""}`;
  item.dataset.messageId = m.messageId || "";
  if (chat.kind === "group" && !mine) {
    const who = document.createElement("span");
    who.className = "sender";
    who.textContent = m.sender;
    item.append(who);
  }
  if (m.content) {
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = m.content;
    item.append(text);
  }
  for (const attachment of m.attachments || []) item.append(attachmentView(attachment));
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = document.createElement("time");
  time.dateTime = m.timestamp || "";
  time.textContent = m.timestamp ? new Date(m.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  meta.append(time);
  if (mine) meta.append(ticks(m));
  item.append(meta);
  if (m.failed) {
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link";
    retry.textContent = "Not sent. Retry";
    retry.addEventListener("click", () => deliver(chat, m));
    item.append(retry);
  }
  return item;
}

function ticks(m) {
  const status = m.pending ? (m.failed ? "failed" : "sending") : (m.status || "sent");
  const span = document.createElement("span");
  span.className = `ticks ${status}`;
  span.dataset.status = status;
  const marks = { sending: "…", failed: "!", sent: "✓", delivered: "✓✓", read: "✓✓" };
  span.textContent = marks[status] || "✓";
  span.setAttribute("aria-label", status);
  span.title = status;
  return span;
}

function attachmentView(attachment) {
  const box = document.createElement("div");
  box.className = "attachment";
  const link = document.createElement("a");
  link.href = "#";
  link.className = "file";
  link.textContent = `${attachment.fileName} (${size(attachment.size)})`;
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      const ticket = await api("GET", `/attachments/${encodeURIComponent(attachment.attachmentId)}`);
      window.open(ticket.downloadUrl, "_blank", "noopener");
    } catch (e) {
      $("chat-error").textContent = e.message;
    }
  });
  box.append(link);
  if (/^image\/(png|jpeg|gif|webp)$/.test(attachment.contentType)) {
    const img = document.createElement("img");
    img.className = "preview";
    img.alt = attachment.fileName;
    img.loading = "lazy";
    box.prepend(img);
    api("GET", `/attachments/${encodeURIComponent(attachment.attachmentId)}`)
      .then((ticket) => { img.src = ticket.downloadUrl; })
      .catch(() => img.remove());
  }
  return box;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function scrollToEnd() {
  const pane = $("messages-pane");
  pane.scrollTop = pane.scrollHeight;
}

// ---------- sending ----------

async function send(chat, text, file) {
  const clientMessageId = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const draft = {
    messageId: null, clientMessageId, pending: true, failed: false, status: "sending",
    senderId: state.session.userId, sender: state.session.username, content: text,
    timestamp: new Date().toISOString(), attachments: [], file,
  };
  chat.messages.push(draft);
  chat.preview = preview(draft);
  touch(chat, draft.timestamp);
  appendMessage(chat, draft);
  scrollToEnd();
  await deliver(chat, draft);
}

/** Sends a drafted message: uploads its file first, if any; again after a failure, with the
 * same client message id, so a retry never makes a second message. */
async function deliver(chat, draft) {
  draft.failed = false;
  renderMessages(chat);
  try {
    if (draft.file && !draft.attachmentId) {
      $("chat-subtitle").textContent = `Uploading ${draft.file.name}…`;
      draft.attachmentId = await upload(chat, draft.file);
      $("chat-subtitle").textContent = "";
    }
    const body = { clientMessageId: draft.clientMessageId };
    if (draft.content) body.message = draft.content;
    if (draft.attachmentId) body.attachments = [draft.attachmentId];
    const sent = chat.kind === "group"
      ? await api("POST", `/groups/${encodeURIComponent(chat.to)}/send`, body)
      : await api("POST", "/chat/send", { ...body, recipient: chat.to });
    const shown = chat.byId.get(sent.messageId);
    if (shown && shown !== draft) {
      // Its frame came first and is shown; drop the draft.
      chat.messages = chat.messages.filter((m) => m !== draft);
    } else {
      Object.assign(draft, { messageId: sent.messageId, timestamp: sent.timestamp, pending: false, status: "sent" });
      chat.byId.set(sent.messageId, draft);
      if (draft.attachmentId && draft.file) {
        draft.attachments = [{ attachmentId: draft.attachmentId, fileName: draft.file.name, contentType: draft.file.type, size: draft.file.size }];
      }
    }
    delete draft.file;
  } catch (e) {
    draft.failed = true;
    $("chat-subtitle").textContent = "";
    $("chat-error").textContent = e.message;
  }
  if (state.current === chat.key) renderMessages(chat);
}

async function upload(chat, file) {
  if (!crypto.subtle) throw new ApiError(0, "insecure", "Attachments need HTTPS (or localhost): the browser hashes the file first");
  const bytes = await file.arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const request = {
    fileName: file.name.slice(0, 255) || "file",
    contentType: file.type || "application/octet-stream",
    size: file.size,
    sha256,
  };
  if (chat.kind === "group") request.groupId = chat.to; else request.recipient = chat.to;
  const ticket = await api("POST", "/attachments", request);
  let put;
  try {
    put = await fetch(ticket.uploadUrl, { method: ticket.uploadMethod || "PUT", headers: ticket.uploadHeaders || {}, body: bytes });
  } catch {
    throw new ApiError(0, "upload_failed", "The upload could not reach the file store");
  }
  if (!put.ok) throw new ApiError(put.status, "upload_failed", `The upload was refused (${put.status})`);
  return ticket.attachmentId;
}

function markRead(chat) {
  const last = [...chat.messages].reverse().find((m) => m.messageId && m.senderId !== state.session.userId);
  if (!last || last.messageId === chat.readUpTo) return;
  chat.readUpTo = last.messageId;
  const to = chat.kind === "group" ? chat.to : chat.title;
  if (!frame({ type: "read", to, upToMessageId: last.messageId })) {
    const path = chat.kind === "group" ? `/groups/${encodeURIComponent(chat.to)}/read` : "/chat/read";
    const body = chat.kind === "group" ? { upToMessageId: last.messageId } : { recipient: chat.to, upToMessageId: last.messageId };
    api("POST", path, body).catch(() => { chat.readUpTo = null; });
  }
}

// ---------- live frames ----------

function frame(value) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(value));
    return true;
  }
  return false;
}

function connect() {
  if (!state.session) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = state.session.cursor ? `?since=${encodeURIComponent(state.session.cursor)}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/ws${since}`, ["bearer", state.session.token]);
  state.socket = socket;
  let opened = false;
  socket.onopen = () => { opened = true; state.failedOpens = 0; };
  setConnection("connecting");
  socket.onmessage = (event) => {
    let value;
    try { value = JSON.parse(event.data); } catch { return; }
    onFrame(value);
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    setConnection("offline");
    if (!opened) refusedBeforeUpgrade();
    if (event.code === 4005) {
      signOut("This session was ended (logged out elsewhere, or the password changed); log in again.");
      return;
    }
    if (event.code === 4002) {
      setConnection("replaced by another tab");
      return;
    }
    if (event.code === 4003) {
      // The access token expired: renew it and carry on from the cursor.
      refreshSession().then((renewed) => {
        if (renewed) connect();
        else if (state.session) signOut("Your session expired; log in again.");
      });
      return;
    }
    if (event.code === 4004) forgetHistory(); // too much was missed to replay
    const delay = event.code === 4001 ? 0 : state.reconnectDelay;
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30000);
    state.reconnectTimer = setTimeout(connect, delay);
  };
}

/** The socket closed before it opened. With the server down, try again later. With the server
 * up: a token that no longer works (the check below signs out on its 401), or a cursor this
 * server never made (a new deployment), forgotten after two refusals. */
async function refusedBeforeUpgrade() {
  let up = false;
  try { up = (await fetch("/healthz")).ok; } catch { up = false; }
  if (!up || !state.session) return;
  await api("GET", "/groups?limit=1").catch(() => {});
  state.failedOpens = (state.failedOpens || 0) + 1;
  if (state.session && state.failedOpens >= 2 && state.session.cursor) forgetHistory();
}

/** Starts again from the history pages, without a cursor. */
function forgetHistory() {
  state.session.cursor = null;
  localStorage.setItem(STORE, JSON.stringify(state.session));
  for (const chat of state.chats.values()) Object.assign(chat, { loaded: false, olderCursor: undefined, messages: [], byId: new Map() });
  if (state.current) openChat(state.current);
}

function setConnection(text) {
  $("connection").textContent = text;
  $("connection").dataset.state = text;
}

function onFrame(value) {
  switch (value.type) {
    case "ready":
      state.reconnectDelay = 1000;
      rememberCursor(value.cursor);
      setConnection("online");
      break;
    case "message": onMessageFrame(value); break;
    case "receipt": onReceipt(value); break;
    case "typing": onTyping(value); break;
    case "group": onGroupFrame(value); break;
    case "error": $("chat-error").textContent = value.message; break;
    default: break;
  }
}

function onMessageFrame(m) {
  const mine = m.senderId === state.session.userId;
  const key = m.kind === "group" ? groupKey(m.groupId) : directKey(mine ? m.recipient : m.sender);
  const chat = chatFor(key);
  if (m.kind === "direct") chat.peerId = mine ? m.recipientId : m.senderId;
  const message = { ...m };
  delete message.cursor;
  delete message.kind;
  delete message.type;
  const added = addMessage(chat, message);
  rememberCursor(m.cursor);
  if (!mine) {
    frame({ type: "ack", messageIds: [m.messageId] });
    if (added && state.current === key && document.visibilityState === "visible") markRead(chat);
    else if (added) { chat.unread += 1; renderList(); }
    clearTyping(chat);
  }
}

function onReceipt(r) {
  if (r.readerId === state.session.userId) return;
  const chat = r.kind === "group"
    ? state.chats.get(groupKey(r.groupId))
    : [...state.chats.values()].find((c) => c.kind === "direct" && c.peerId === r.readerId);
  if (!chat) return;
  const upTo = chat.messages.findIndex((m) => m.messageId === r.upToMessageId);
  if (upTo < 0) return;
  const rank = { sending: 0, sent: 1, delivered: 2, read: 3 };
  for (const m of chat.messages.slice(0, upTo + 1)) {
    if (m.senderId === state.session.userId && !m.pending && (rank[m.status] || 1) < rank[r.status]) m.status = r.status;
  }
  if (state.current === chat.key) renderMessages(chat);
}

function onTyping(t) {
  if (t.userId === state.session.userId) return;
  const chat = state.chats.get(t.kind === "group" ? groupKey(t.groupId) : directKey(t.username));
  if (!chat) return;
  clearTimeout(chat.typingTimer);
  chat.typing = t.username;
  if (state.current === chat.key) $("typing").textContent = `${t.username} is typing…`;
  chat.typingTimer = setTimeout(() => clearTyping(chat), 4000);
}

function clearTyping(chat) {
  clearTimeout(chat.typingTimer);
  chat.typing = null;
  if (state.current === chat.key) $("typing").textContent = "";
}

function onGroupFrame(g) {
  const key = groupKey(g.groupId);
  const removedMe = g.event === "memberRemoved" && g.userId === state.session.userId;
  if (removedMe) {
    state.chats.delete(key);
    if (state.current === key) { state.current = null; $("composer").hidden = true; $("chat-title").textContent = "You left this group"; }
    reorder();
    return;
  }
  const chat = chatFor(key, g.name ? { title: g.name } : {});
  if (g.event === "created" || (g.event === "memberAdded" && g.userId === state.session.userId)) {
    chat.preview = g.event === "created" ? "Group created" : "You were added";
  }
  touch(chat, g.timestamp);
  if (state.current === key) describeGroup(chat);
}

// ---------- the page ----------

function wire() {
  $("auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const register = event.submitter?.value === "register";
    $("auth-error").textContent = "";
    try {
      await signIn($("auth-username").value.trim(), $("auth-password").value, register);
      $("auth-password").value = "";
    } catch (e) {
      $("auth-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", () => logOut());
  $("devices").addEventListener("click", () => showDevices());
  $("block-toggle").addEventListener("click", () => toggleBlock());
  $("new-chat").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("new-chat-user").value.trim().toLowerCase();
    if (!username) return;
    $("new-chat-user").value = "";
    const chat = chatFor(directKey(username), { title: username });
    touch(chat, chat.lastAt);
    await openChat(chat.key);
  });
  $("more-chats").addEventListener("click", () => loadLists(true).catch((e) => { $("chat-error").textContent = e.message; }));
  $("older").addEventListener("click", () => loadOlder(state.chats.get(state.current)).catch((e) => { $("chat-error").textContent = e.message; }));
  $("messages-pane").addEventListener("scroll", () => {
    const chat = state.chats.get(state.current);
    if (chat && chat.loaded && chat.olderCursor && $("messages-pane").scrollTop === 0) loadOlder(chat).catch(() => {});
  });
  $("back").addEventListener("click", () => { document.body.classList.remove("in-chat"); $("chat-list").querySelector(".current")?.focus(); });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const chat = state.chats.get(state.current);
    const text = $("text").value.trim();
    const file = state.pendingFile;
    if (!chat || (!text && !file)) return;
    $("text").value = "";
    clearFile();
    $("chat-error").textContent = "";
    send(chat, text, file);
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("text").addEventListener("input", () => {
    const chat = state.chats.get(state.current);
    if (!chat) return;
    const last = state.lastTypingSent.get(chat.key) || 0;
    if (Date.now() - last > 2000) {
      state.lastTypingSent.set(chat.key, Date.now());
      frame({ type: "typing", to: chat.kind === "group" ? chat.to : chat.title });
    }
  });
  document.querySelector(".attach").addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("attach").click(); }
  });
  $("attach").addEventListener("change", () => {
    const file = $("attach").files[0];
    if (!file) return;
    state.pendingFile = file;
    const chip = $("attachment-chip");
    chip.textContent = `${file.name} ✕`;
    chip.title = "Remove the attachment";
    chip.hidden = false;
    $("text").focus();
  });
  $("attachment-chip").addEventListener("click", clearFile);
  $("new-group").addEventListener("click", () => { $("group-error").textContent = ""; $("group-dialog").showModal(); });
  $("add-member").addEventListener("click", () => { $("member-error").textContent = ""; $("member-dialog").showModal(); });
  for (const close of document.querySelectorAll("[data-close]")) close.addEventListener("click", () => close.closest("dialog").close());
  $("group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const members = $("group-members").value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    try {
      const group = await api("POST", "/groups/create", { name: $("group-name").value.trim(), members });
      $("group-dialog").close();
      $("group-form").reset();
      const chat = chatFor(groupKey(group.groupId), { title: group.name, role: "admin", preview: "Group created" });
      touch(chat, group.createdAt);
      await openChat(chat.key);
    } catch (e) {
      $("group-error").textContent = e.message;
    }
  });
  $("member-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const chat = state.chats.get(state.current);
    try {
      await api("PUT", `/groups/${encodeURIComponent(chat.to)}/add-member`, { member: $("member-name").value.trim().toLowerCase() });
      $("member-dialog").close();
      $("member-form").reset();
      describeGroup(chat);
    } catch (e) {
      $("member-error").textContent = e.message;
    }
  });
  document.addEventListener("visibilitychange", () => {
    const chat = state.chats.get(state.current);
    if (chat && document.visibilityState === "visible") markRead(chat);
  });
}

function clearFile() {
  state.pendingFile = null;
  $("attach").value = "";
  $("attachment-chip").hidden = true;
}

async function start() {
  $("welcome").hidden = true;
  $("app").hidden = false;
  $("me").textContent = state.session.username;
  scheduleRefresh();
  try {
    await Promise.all([loadLists(false), loadBlocked()]);
  } catch (e) {
    $("chat-error").textContent = e.message;
  }
  connect();
}

wire();
state.session = loadSession();
if (state.session) start();
else signOut("");
