import{am as i}from"./index-B52KEwGk.js";const n=o=>["",...i].includes(o);export{n as i};
